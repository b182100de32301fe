// The job page's pipeline panel: each stage's newest step as bars in time (F, B, Bi, W per micro-batch), from
// /api/jobs/{id}/pipeline, with the bubble of the newest step every stage recorded. Shown only for jobs with pp > 1.
import { api, fmt, el } from './api.js';

const id = decodeURIComponent(location.pathname.split('/').pop());
const panel = document.getElementById('pipeline');
const COLORS = { F: '#2f6fde', B: '#1f9d55', Bi: '#7cc49a', W: '#d08a12' };

function render(view) {
  panel.hidden = false;
  document.getElementById('pipeline-schedule').textContent = view.schedule;
  document.getElementById('pipeline-bubble').textContent = view.bubble == null ? '–' : fmt(view.bubble, 3);
  const span = Math.max(1, ...view.stages.flatMap(s => s.intervals.map(i => i.end_ms)));
  const rows = document.getElementById('pipeline-rows');
  rows.replaceChildren(...view.stages.map(s => {
    const row = el('div', null, 'pipeline-row');
    row.dataset.stage = s.stage;
    row.append(el('span', `stage ${s.stage} · ${s.node} · step ${s.step ?? '–'}`, 'pipeline-label muted'));
    const track = el('div', null, 'pipeline-track');
    for (const i of s.intervals) {
      const bar = el('span', `${i.op}${i.micro_batch}`, 'pipeline-bar');
      bar.dataset.op = i.op;
      bar.title = `${i.op} micro-batch ${i.micro_batch}, virtual stage ${i.virtual_stage}: ${(i.end_ms - i.start_ms).toFixed(1)} ms`;
      bar.style.left = `${(100 * i.start_ms / span).toFixed(3)}%`;
      bar.style.width = `${Math.max(0.2, 100 * (i.end_ms - i.start_ms) / span).toFixed(3)}%`;
      bar.style.background = COLORS[i.op] ?? '#888';
      track.append(bar);
    }
    row.append(track);
    return row;
  }));
}

async function poll() {
  const result = await api(`/api/jobs/${encodeURIComponent(id)}/pipeline`);
  if (result.status === 409 || result.status === 404) return; // no pipeline stages: the panel stays hidden
  if (result.ok) render(result.body);
  setTimeout(poll, 2000);
}
poll();
