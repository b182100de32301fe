// The job page's recoveries: one row per recovery (its `recovered` event), with where the state came from (peer
// memory or the disk checkpoint), the step restored, the steps lost and the times, the last ones from the matching
// `resumed` event (the new epoch's first completed step).
import { el } from './api.js';

const seconds = ms => (ms === null || ms === undefined ? '–' : `${(ms / 1000).toFixed(2)} s`);

/** Renders the recoveries among <paramref>events</paramref> into #recoveries (hidden while there are none). */
export function renderRecoveries(events) {
  const recovered = events.filter(e => e.kind === 'recovered' && e.detail);
  const resumed = new Map(events.filter(e => e.kind === 'resumed' && e.detail).map(e => [e.detail.epoch, e.detail]));
  document.getElementById('recoveries').hidden = recovered.length === 0;
  document.querySelector('#recoveries tbody').replaceChildren(...recovered.slice().reverse().map(e => {
    const d = e.detail, next = resumed.get(d.epoch);
    const row = el('tr');
    row.dataset.epoch = d.epoch;
    row.dataset.source = d.source ?? 'disk';
    row.append(el('td', d.epoch, 'num'), el('td', d.source ?? 'disk', 'source'), el('td', d.from_step, 'num from'),
      el('td', d.steps_lost ?? '–', 'num lost'), el('td', seconds(d.detection_ms), 'num'),
      el('td', next ? seconds(next.state_load_ms) : '…', 'num'), el('td', next ? seconds(next.last_step_to_step_ms) : '…', 'num next'));
    return row;
  }));
}
