// The workers page: every worker the servers heard from in the last minutes (in-process handlers and HTTP workers by
// worker id) and every one that still holds running jobs: when it was last heard from, the jobs it holds, and what it
// completed and failed per minute. Refreshed every few seconds (the servers store what they saw every five).

import { api } from './api.js';
import { h, replaceChildren, time } from './dom.js';
import { createRefresher } from './refresher.js';

const SHOWN_JOBS = 5;

export function createWorkersView(main) {
  const heading = h('h1', { tabindex: '-1', id: 'workers-heading' }, 'Workers');
  const status = h('p', { class: 'muted', role: 'status' });
  const error = h('p', { class: 'error', role: 'alert' });
  const body = h('tbody');
  const table = h('table', { class: 'workers', 'data-testid': 'workers' },
    h('thead', {}, h('tr', {}, ...['Worker', 'Kind', 'Last heard from', 'Running', 'Completed / min', 'Last 5 min', 'Jobs held']
      .map((name) => h('th', { scope: 'col' }, name)))),
    body);
  replaceChildren(main, h('section', { 'aria-labelledby': 'workers-heading' }, heading, status, error, h('div', { class: 'table-scroll' }, table)));
  document.title = 'Workers · Jobkeeper';

  function row(w) {
    const jobs = w.jobs.slice(0, SHOWN_JOBS).map((j) => h('li', {}, h('a', { href: `#/jobs/${encodeURIComponent(j.id)}`, class: 'id' }, j.id), ' ', h('span', { class: 'muted' }, j.type)));
    return h('tr', { 'data-worker': w.worker_id },
      h('th', { scope: 'row', class: 'id' }, w.worker_id),
      h('td', {}, w.kind === 'in_process' ? 'in-process' : 'HTTP'),
      h('td', {}, w.last_seen_at ? time(w.last_seen_at) : h('span', { class: 'muted' }, 'not lately (holds jobs)')),
      h('td', { class: 'num' }, String(w.running)),
      h('td', { class: 'num' }, String(w.completed_per_minute)),
      h('td', { class: 'num' }, `${w.completed_last_5_minutes} completed, ${w.failed_last_5_minutes} failed`),
      h('td', {}, jobs.length ? h('ul', { class: 'plain' }, jobs, w.running > SHOWN_JOBS ? h('li', { class: 'muted' }, `and ${w.running - SHOWN_JOBS} more`) : null) : '—'));
  }

  const lister = createRefresher(() => api.listWorkers(), (answer) => {
    replaceChildren(body, answer.items.length
      ? answer.items.map(row)
      : h('tr', {}, h('td', { colspan: '7', class: 'muted' }, `No worker was heard from in the last ${Math.round(answer.within_seconds / 60)} minutes.`)));
    status.textContent = `${answer.items.length} ${answer.items.length === 1 ? 'worker' : 'workers'} heard from in the last ${Math.round(answer.within_seconds / 60)} minutes or holding jobs.`;
  }, error);

  return {
    onEvent: () => lister.soon(),
    resync: () => lister.refresh(),
    dispose: () => lister.dispose(),
  };
}
