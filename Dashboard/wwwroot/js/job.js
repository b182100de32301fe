// The job page: live status, loss / throughput / MaxVio charts, the expert-load heatmap and biases,
// the rank plan, checkpoints, recoveries and the event timeline, all fed by one server-sent event stream.
import { api, stream, fmt, time, el } from './api.js';
import { renderRecoveries } from './recoveries.js';

const id = decodeURIComponent(location.pathname.split('/').pop());
document.getElementById('job-id').textContent = id;
document.title = `Job ${id} · Orchestrator`;

const HEAT_WINDOW = 300;
const series = { loss: [], tokens_per_s: [], max_vio: [], lr: [] };
const loads = new Map();   // layer → [{step, loads}]
const biases = new Map();  // layer → latest biases
let events = [];
let dirty = true;

const charts = {};
function chart(elementId) {
  return charts[elementId] ??= echarts.init(document.getElementById(elementId), null, { renderer: 'canvas' });
}
window.addEventListener('resize', () => Object.values(charts).forEach(c => c.resize()));

function line(elementId, name, data, color, log = false) {
  chart(elementId).setOption({
    animation: false,
    grid: { left: 56, right: 16, top: 16, bottom: 32 },
    tooltip: { trigger: 'axis', valueFormatter: v => fmt(v) },
    xAxis: { type: 'value', name: 'step', nameLocation: 'middle', nameGap: 22, minInterval: 1 },
    yAxis: { type: log ? 'log' : 'value', scale: true },
    series: [{ name, type: 'line', data, showSymbol: data.length < 40, lineStyle: { width: 1.6, color }, itemStyle: { color } }],
  });
}

function layersSelect(selectId) {
  const select = document.getElementById(selectId);
  const layers = [...loads.keys()].sort((a, b) => a - b);
  if (select.options.length !== layers.length) {
    const current = select.value;
    select.replaceChildren(...layers.map(l => new Option(`layer ${l}`, String(l))));
    if (current) select.value = current;
  }
  return Number(select.value || 0);
}

function heatmap() {
  const layer = layersSelect('heat-layer');
  const rows = loads.get(layer) ?? [];
  const experts = rows.length ? rows[rows.length - 1].loads.length : 0;
  const data = [];
  let max = 1;
  rows.forEach((row, x) => row.loads.forEach((v, y) => { data.push([x, y, v]); if (v > max) max = v; }));
  chart('heatmap').setOption({
    animation: false,
    grid: { left: 56, right: 90, top: 10, bottom: 36 },
    tooltip: { formatter: p => `step ${rows[p.value[0]]?.step}, expert ${p.value[1]}: ${p.value[2]} tokens` },
    xAxis: { type: 'category', name: 'step', nameLocation: 'middle', nameGap: 24, data: rows.map(r => r.step), splitArea: { show: false } },
    yAxis: { type: 'category', name: 'expert', data: Array.from({ length: experts }, (_, i) => i), axisLabel: { interval: Math.max(0, Math.ceil(experts / 16) - 1) } },
    visualMap: { min: 0, max, calculable: true, orient: 'vertical', right: 0, top: 'center', itemHeight: 200,
      inRange: { color: ['#f7fbff', '#6baed6', '#08306b'] } },
    series: [{ type: 'heatmap', data, progressive: 0 }],
  }, { replaceMerge: ['series'] });
}

function biasChart() {
  const layer = layersSelect('bias-layer');
  const values = biases.get(layer) ?? [];
  chart('bias-chart').setOption({
    animation: false,
    grid: { left: 56, right: 16, top: 16, bottom: 32 },
    tooltip: { trigger: 'axis', valueFormatter: v => fmt(v) },
    xAxis: { type: 'category', name: 'expert', nameLocation: 'middle', nameGap: 22, data: values.map((_, i) => i) },
    yAxis: { type: 'value', scale: true },
    series: [{ name: 'bias', type: 'line', step: 'middle', data: values, showSymbol: false, lineStyle: { color: '#8a4fd0' }, itemStyle: { color: '#8a4fd0' } }],
  });
}

function status(job) {
  document.getElementById('phase').textContent = job.phase;
  document.getElementById('phase').className = 'badge ' + job.phase;
  document.getElementById('step').textContent = job.step;
  document.getElementById('steps').textContent = job.steps;
  document.getElementById('loss').textContent = fmt(job.loss);
  document.getElementById('tps').textContent = fmt(job.tokensPerSecond, 0);
  document.getElementById('maxvio').textContent = fmt(job.maxVio, 3);
  document.getElementById('epoch').textContent = job.epoch;
  document.getElementById('cancel').hidden = job.final;
  alerts(job.alerts ?? []);
  const error = document.getElementById('job-error');
  error.hidden = !job.error;
  error.textContent = job.error ?? '';
  const plan = document.querySelector('#plan tbody');
  plan.replaceChildren(...job.plan.map(r => {
    const row = el('tr');
    row.append(el('td', r.rank, 'num'), el('td', r.epRank, 'num'), el('td', r.dpRank, 'num'), el('td', r.node), el('td', r.device));
    return row;
  }));
}

/** The job's alerts, newest first, as a banner above the figures (hidden while there are none). */
function alerts(list) {
  const box = document.getElementById('alerts');
  box.hidden = list.length === 0;
  document.getElementById('alert-count').textContent = list.length;
  document.getElementById('alert-list').replaceChildren(...list.slice().reverse().map(a => {
    const item = el('li');
    item.dataset.kind = a.kind;
    item.append(el('span', a.kind, 'kind'), el('span', `step ${a.step}`, 'muted'), el('span', a.message, 'detail'), el('span', time(a.at), 'muted'));
    return item;
  }));
}

function timeline() {
  const list = document.getElementById('timeline');
  list.replaceChildren(...events.slice().reverse().map(e => {
    const item = el('li');
    item.dataset.kind = e.kind;
    item.append(el('span', time(e.at), 'muted'), el('span', e.kind, 'kind ' + e.kind), el('span', e.detail ? JSON.stringify(e.detail) : '', 'detail'));
    return item;
  }));
}

/** The committed checkpoints, each with a button that starts a new job from it. */
async function checkpoints() {
  const result = await api(`/api/jobs/${encodeURIComponent(id)}/checkpoints`);
  if (!result.ok) return;
  document.getElementById('no-checkpoints').hidden = result.body.length > 0;
  document.querySelector('#checkpoints tbody').replaceChildren(...result.body.slice().reverse().map(c => {
    const row = el('tr');
    row.dataset.step = c.step;
    const restore = el('button', 'Restore', 'secondary restore');
    restore.addEventListener('click', () => restoreFrom(c.step));
    const cell = el('td'); cell.append(restore);
    row.append(el('td', c.step, 'num'), el('td', c.epoch, 'num'), el('td', time(c.committedAt)),
      el('td', `${(c.bytes / 1048576).toFixed(1)} MiB`, 'num'), cell);
    return row;
  }));
}

async function restoreFrom(step) {
  if (!confirm(`Start a new job from the checkpoint at step ${step}?`)) return;
  const result = await api(`/api/jobs/${encodeURIComponent(id)}/restore`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ step }),
  });
  if (result.ok) { location.href = '/jobs/' + encodeURIComponent(result.body.id); return; }
  const error = document.getElementById('job-error');
  error.textContent = result.body?.error ?? `HTTP ${result.status}`;
  error.hidden = false;
}

function render() {
  if (!dirty) return;
  dirty = false;
  line('loss-chart', 'loss', series.loss, '#2f6fde');
  line('tps-chart', 'tokens/s', series.tokens_per_s, '#1f9d55');
  line('maxvio-chart', 'MaxVio', series.max_vio, '#d08a12');
  heatmap();
  biasChart();
}
setInterval(render, 500);
document.getElementById('heat-layer').addEventListener('change', () => { dirty = true; render(); });
document.getElementById('bias-layer').addEventListener('change', () => { dirty = true; render(); });

document.getElementById('cancel').addEventListener('click', async () => {
  if (!confirm(`Cancel job ${id}?`)) return;
  const result = await api(`/api/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
  if (result.ok) status(result.body);
});

stream(`/api/jobs/${encodeURIComponent(id)}/stream`, {
  reset: job => {
    for (const key of Object.keys(series)) series[key] = [];
    loads.clear(); biases.clear(); events = [];
    status(job); dirty = true;
    checkpoints();
  },
  status: job => status(job),
  metrics: view => {
    for (const [name, points] of Object.entries(view.series)) (series[name] ??= []).push(...points);
    dirty = true;
  },
  experts: samples => {
    for (const s of samples) {
      const rows = loads.get(s.layer) ?? [];
      rows.push({ step: s.step, loads: s.loads });
      if (rows.length > HEAT_WINDOW) rows.splice(0, rows.length - HEAT_WINDOW);
      loads.set(s.layer, rows);
      if (s.biases.length) biases.set(s.layer, s.biases);
    }
    dirty = true;
  },
  events: list => {
    events.push(...list);
    timeline();
    renderRecoveries(events);
    if (list.some(e => e.kind.startsWith('checkpoint'))) checkpoints();
  },
  end: (_, source) => { source.close(); document.getElementById('live').textContent = 'finished'; render(); },
}, document.getElementById('live'));
