// The job page's grpo panel: per-step mean reward (accuracy and format apart), response length, KL to the reference,
// clip fraction and generation tokens/s (with MTP acceptance when the rollouts speculate) as charts, and a table of
// sampled completions with their rewards, from /api/jobs/{id}/grpo. Shown for grpo jobs only.
import { api, fmt, el } from './api.js';

const id = decodeURIComponent(location.pathname.split('/').pop());
const panel = document.getElementById('grpo');
const charts = {};
function chart(elementId) {
  return charts[elementId] ??= echarts.init(document.getElementById(elementId), null, { renderer: 'canvas' });
}
window.addEventListener('resize', () => Object.values(charts).forEach(c => c.resize()));

function lines(elementId, named) {
  chart(elementId).setOption({
    animation: false,
    grid: { left: 56, right: 16, top: named.length > 1 ? 28 : 16, bottom: 32 },
    legend: named.length > 1 ? { top: 0, data: named.map(n => n.name) } : undefined,
    tooltip: { trigger: 'axis', valueFormatter: v => fmt(v) },
    xAxis: { type: 'value', name: 'step', nameLocation: 'middle', nameGap: 22, minInterval: 1 },
    yAxis: { type: 'value', scale: true },
    series: named.map(n => ({ name: n.name, type: 'line', data: n.data, showSymbol: n.data.length < 40,
      lineStyle: { width: 1.6, color: n.color }, itemStyle: { color: n.color } })),
  });
}

function render(view) {
  panel.hidden = false;
  const s = view.series;
  lines('grpo-reward-chart', [
    { name: 'reward', data: s.grpo_reward, color: '#2f6fdf' },
    { name: 'accuracy', data: s.grpo_accuracy, color: '#2a9d5b' },
    { name: 'format', data: s.grpo_format, color: '#d08a1e' },
  ]);
  lines('grpo-length-chart', [{ name: 'response tokens', data: s.grpo_length, color: '#7b52c7' }]);
  lines('grpo-kl-chart', [{ name: 'KL', data: s.grpo_kl, color: '#c43c3c' }]);
  lines('grpo-clip-chart', [{ name: 'clip fraction', data: s.grpo_clip, color: '#4a8d9c' }]);
  const speed = [{ name: 'generation tokens/s', data: s.generation_tokens_per_s, color: '#2f6fdf' }];
  if (s.mtp_acceptance.length) speed.push({ name: 'MTP acceptance', data: s.mtp_acceptance, color: '#2a9d5b' });
  lines('grpo-speed-chart', speed);
  const last = s.grpo_reward.length ? s.grpo_reward.length - 1 : -1;
  document.getElementById('grpo-latest').textContent = last < 0 ? 'no step yet'
    : `step ${s.grpo_reward[last][0]}: reward ${fmt(s.grpo_reward[last][1], 3)}, accuracy ${fmt(s.grpo_accuracy[last][1], 3)}, format ${fmt(s.grpo_format[last][1], 3)}`;
  const rows = [];
  for (const event of view.samples) {
    for (const sample of event.samples) {
      const row = el('tr', null, 'grpo-sample');
      row.dataset.step = event.step;
      const text = el('td', null, 'completion');
      text.append(el('code', sample.completion));
      row.append(el('td', `${event.step}`, 'num'), el('td', `${sample.prompt}`, 'num'), text,
        el('td', fmt(sample.accuracy, 2), 'num'), el('td', fmt(sample.format, 2), 'num'));
      rows.push(row);
    }
  }
  document.querySelector('#grpo-samples tbody').replaceChildren(...rows);
  document.getElementById('no-grpo-samples').hidden = rows.length > 0;
}

async function poll() {
  const result = await api(`/api/jobs/${encodeURIComponent(id)}/grpo`);
  if (result.status === 409 || result.status === 404) return; // not a grpo job: the panel stays hidden
  if (result.ok) render(result.body);
  setTimeout(poll, 2000);
}
poll();
