// The cluster page: nodes (health, devices and the job ranks on them) and jobs, live.
import { stream, fmt, time, el } from './api.js';

function renderNodes(nodes) {
  const body = document.querySelector('#nodes tbody');
  body.replaceChildren();
  document.getElementById('no-nodes').hidden = nodes.length > 0;
  for (const node of nodes) {
    const row = el('tr');
    row.id = 'node-' + node.name;
    row.dataset.node = node.name;
    row.dataset.alive = String(node.alive);
    row.className = node.alive ? 'alive' : 'dead';
    row.append(el('td', node.name));
    const health = el('td');
    health.append(el('span', node.alive ? 'alive' : 'dead', 'badge health ' + (node.alive ? 'alive' : 'dead')));
    row.append(health, el('td', node.host));
    const devices = el('td');
    for (const device of node.devices) {
      const chip = el('span', device.job ? `${device.id} → ${device.job}/r${device.rank}` : device.id, 'device' + (device.job ? ' used' : ''));
      devices.append(chip);
    }
    row.append(devices, el('td', node.siloAddress || '—', 'muted'));
    body.append(row);
  }
}

function renderJobs(jobs) {
  const body = document.querySelector('#jobs tbody');
  body.replaceChildren();
  document.getElementById('no-jobs').hidden = jobs.length > 0;
  for (const job of [...jobs].reverse()) {
    const row = el('tr');
    row.dataset.job = job.id;
    const link = el('a', job.id);
    link.href = '/jobs/' + encodeURIComponent(job.id);
    const id = el('td'); id.append(link);
    const phase = el('td'); phase.append(el('span', job.phase, 'badge ' + job.phase));
    row.append(id, phase,
      el('td', `${job.step} / ${job.steps}`, 'num'), el('td', fmt(job.loss), 'num'),
      el('td', fmt(job.tokensPerSecond, 0), 'num'), el('td', fmt(job.maxVio, 3), 'num'),
      el('td', job.plan.map(r => `${r.rank}@${r.node}/${r.device}`).join(', ')), el('td', time(job.updatedAt), 'muted'));
    if (job.error) row.title = job.error;
    body.append(row);
  }
}

stream('/api/cluster/stream', {
  cluster: view => { renderNodes(view.nodes); renderJobs(view.jobs); },
}, document.getElementById('live'));
