// The job form: builds the job spec (the JSON `orchestrator submit` reads), sends it to the API and
// shows each refusal next to the field the server names.
import { api } from './api.js';

const form = document.getElementById('spec-form');
const inputs = {
  'id': 'id', 'config': 'config', 'model': 'model', 'training': 'training', 'data': 'data', 'steps': 'steps',
  'parallel.ep': 'ep', 'parallel.dp': 'dp', 'fp8': 'fp8', 'checkpoint.every': 'checkpoint-every',
  'checkpoint.keep': 'checkpoint-keep', 'max_seconds': 'max-seconds',
};
const value = id => document.getElementById(id).value.trim();

/** A number when the text is one; otherwise the text itself, so that the server names the field. */
function numberOrText(text) {
  if (text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) && /^-?[0-9.eE+-]+$/.test(text) ? n : text;
}

class FieldError extends Error {
  constructor(field, message) { super(message); this.field = field; }
}

function parseObject(id, field) {
  const text = value(id);
  if (text === '') return undefined;
  try { return JSON.parse(text); } catch (e) { throw new FieldError(field, 'not valid JSON: ' + e.message); }
}

function buildSpec() {
  const spec = {};
  if (value('id')) spec.id = value('id');
  if (form.querySelector('input[name="model-source"]:checked').value === 'inline') {
    const model = parseObject('model', 'model');
    if (model === undefined) throw new FieldError('model', 'paste a model config (JSON object)');
    spec.model = model;
  } else {
    spec.config = value('config');
  }
  const training = parseObject('training', 'training');
  if (training !== undefined) spec.training = training;
  if (value('data')) spec.data = value('data');
  const steps = numberOrText(value('steps'));
  if (steps !== undefined) spec.steps = steps;
  spec.parallel = {};
  for (const [key, id] of [['ep', 'ep'], ['dp', 'dp']]) {
    const v = numberOrText(value(id));
    if (v !== undefined) spec.parallel[key] = v;
  }
  spec.fp8 = document.getElementById('fp8').checked;
  spec.checkpoint = {};
  for (const [key, id] of [['every', 'checkpoint-every'], ['keep', 'checkpoint-keep']]) {
    const v = numberOrText(value(id));
    if (v !== undefined) spec.checkpoint[key] = v;
  }
  const limit = numberOrText(value('max-seconds'));
  if (limit !== undefined) spec.max_seconds = limit;
  return spec;
}

function clearErrors() {
  document.querySelectorAll('[data-error-for]').forEach(p => { p.textContent = ''; });
  document.querySelectorAll('.invalid').forEach(i => i.classList.remove('invalid'));
  const box = document.getElementById('form-error');
  box.hidden = true;
  box.textContent = '';
}

/** Shows a message next to the field (or the closest enclosing one: model.dim → model), else above the form. */
function showError(field, message) {
  let key = field;
  while (key && !document.querySelector(`[data-error-for="${CSS.escape(key)}"]`)) {
    key = key.includes('.') ? key.slice(0, key.lastIndexOf('.')) : null;
  }
  if (key) {
    document.querySelector(`[data-error-for="${CSS.escape(key)}"]`).textContent = message;
    const input = document.getElementById(inputs[field] ?? inputs[key] ?? '');
    if (input) { input.classList.add('invalid'); input.focus(); }
  } else {
    const box = document.getElementById('form-error');
    box.textContent = field ? `${field}: ${message}` : message;
    box.hidden = false;
  }
}

async function send(path) {
  clearErrors();
  let spec;
  try { spec = buildSpec(); } catch (e) {
    if (e instanceof FieldError) { showError(e.field, e.message); return null; }
    throw e;
  }
  const result = await api(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(spec) });
  if (!result.ok) {
    showError(result.body?.field ?? null, result.body?.message ?? result.body?.error ?? `HTTP ${result.status}`);
    return null;
  }
  return result.body;
}

function preview() {
  try { document.getElementById('preview').textContent = JSON.stringify(buildSpec(), null, 2); }
  catch (e) { document.getElementById('preview').textContent = `(${e.message})`; }
}

form.addEventListener('submit', async event => {
  event.preventDefault();
  const button = document.getElementById('submit');
  button.disabled = true;
  try {
    const job = await send('/api/jobs');
    if (job) location.href = '/jobs/' + encodeURIComponent(job.id);
  } finally { button.disabled = false; }
});
document.getElementById('validate').addEventListener('click', async () => {
  const spec = await send('/api/jobs/validate');
  document.getElementById('form-note').textContent = spec ? `valid: ${spec.id} (${spec.steps} steps)` : '';
});
form.addEventListener('input', preview);
form.addEventListener('change', () => {
  const inline = form.querySelector('input[name="model-source"]:checked').value === 'inline';
  document.getElementById('model').hidden = !inline;
  document.getElementById('config').disabled = inline;
  preview();
});

const defaults = await api('/api/configs');
if (defaults.ok) {
  const select = document.getElementById('config');
  for (const name of defaults.body.configs) select.append(new Option(name, name));
  if (defaults.body.defaultData) document.getElementById('data').value = defaults.body.defaultData;
}
preview();
