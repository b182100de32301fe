// The job page's expert panel: each MoE layer's expert → rank map (replicas marked) with each shard's newest load,
// and every re-placement with the per-rank loads before and after, from /api/jobs/{id}/experts. Shown for ep > 1 only.
import { api, fmt, el } from './api.js';

const id = decodeURIComponent(location.pathname.split('/').pop());
const panel = document.getElementById('experts');

function loadBars(values) {
  const most = Math.max(1, ...values);
  const bars = el('div', null, 'expert-bars');
  values.forEach((v, rank) => {
    const bar = el('span', null, 'expert-bar');
    bar.style.height = `${Math.max(2, 28 * v / most).toFixed(1)}px`;
    bar.title = `rank ${rank}: ${fmt(v, 1)} tokens`;
    bars.append(bar);
  });
  return bars;
}

function imbalance(values) {
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  return mean > 0 ? Math.max(...values) / mean : 1;
}

function render(view) {
  panel.hidden = false;
  const layer = view.layers[0];
  const version = layer ? Math.max(...layer.shards.map(s => s.map_version)) : 0;
  document.getElementById('experts-version').textContent = version;
  document.getElementById('experts-balancing').textContent = view.balancing ? 'on' : 'off';
  document.getElementById('experts-maps').replaceChildren(...view.layers.map(l => {
    const table = el('table', null, 'expert-map');
    table.dataset.layer = l.layer;
    const head = el('tr');
    head.append(el('th', `MoE layer ${l.layer}: rank`), el('th', 'experts (×n: replicated on n ranks)'), el('th', 'newest load', 'num'));
    table.append(head);
    for (const s of l.shards) {
      const row = el('tr', null, 'expert-shard');
      row.dataset.shard = s.shard;
      const cell = el('td');
      for (const c of s.experts) {
        const chip = el('span', c.copies > 1 ? `${c.expert}×${c.copies}` : `${c.expert}`, c.copies > 1 ? 'expert-chip replica' : 'expert-chip');
        chip.title = c.copies > 1 ? `expert ${c.expert}, copy ${c.replica + 1} of ${c.copies}` : `expert ${c.expert}`;
        cell.append(chip);
      }
      const last = s.loads.length ? s.loads[s.loads.length - 1] : null;
      row.append(el('td', `${s.shard}`), cell, el('td', last ? `${fmt(last.tokens, 1)} (step ${last.step})` : '–', 'num'));
      table.append(row);
    }
    return table;
  }));
  const moves = document.getElementById('experts-moves');
  document.getElementById('no-expert-moves').hidden = view.replacements.length > 0;
  moves.replaceChildren(...view.replacements.map(r => {
    const item = el('li', null, 'expert-move');
    item.dataset.step = r.step;
    const before = r.rank_loads_before[0] ?? [];
    const after = r.rank_loads_after[0] ?? [];
    item.append(el('span', `after step ${r.step}: map v${r.from.version} → v${r.to.version}, ${r.copies} copies, ${fmt(r.bytes / 1024, 1)} KiB, ${fmt(r.seconds * 1000, 1)} ms`));
    const loads = el('div', null, 'expert-move-loads');
    loads.append(el('span', `rank load before (max/mean ${fmt(imbalance(before), 2)})`, 'muted'), loadBars(before),
      el('span', `after (${fmt(imbalance(after), 2)})`, 'muted'), loadBars(after));
    item.append(loads);
    return item;
  }));
}

async function poll() {
  const result = await api(`/api/jobs/${encodeURIComponent(id)}/experts`);
  if (result.status === 409 || result.status === 404) return; // no expert parallelism: the panel stays hidden
  if (result.ok) render(result.body);
  setTimeout(poll, 2000);
}
poll();
