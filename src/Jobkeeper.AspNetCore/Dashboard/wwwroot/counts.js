// Counts of jobs by status (from GET /health), each a link to the list filtered by that status.
// Refreshed after live events, at most one request in flight, plus a slow poll for what sends no event (deletes).

import { api } from './api.js';
import { h } from './dom.js';
import { STATUSES } from './filters.js';

const POLL_MS = 15000;
const DELAY_MS = 150;

export function createCounts(list) {
  const numbers = new Map();
  const item = (key, text, href) => {
    const number = h('span', { class: 'count' }, '–');
    numbers.set(key, number);
    return h('li', { class: `count-${key}` }, h('a', { href, 'data-status': key }, h('span', { class: 'count-name' }, text), ' ', number));
  };
  list.textContent = '';
  list.append(item('all', 'all', '#/'), ...STATUSES.map((s) => item(s, s, `#/?status=${s}`)));

  let inFlight = false;
  let again = false;
  let timer = 0;

  async function refresh() {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    try {
      const health = await api.health();
      numbers.get('all').textContent = String(health.jobs_count ?? '?');
      for (const status of STATUSES) numbers.get(status).textContent = String(health.jobs_by_status?.[status] ?? '?');
      list.removeAttribute('data-error');
    } catch {
      list.setAttribute('data-error', 'true');
    } finally {
      inFlight = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  }

  /** Coalesces a burst of events into one refresh. */
  function schedule() {
    if (!timer) {
      timer = setTimeout(() => {
        timer = 0;
        refresh();
      }, DELAY_MS);
    }
  }

  setInterval(() => {
    if (document.visibilityState === 'visible') refresh();
  }, POLL_MS);

  /** Marks the link of the list being shown: "all" without a status filter, the status when exactly one is chosen. */
  function markCurrent(statuses) {
    const current = statuses === null ? null : statuses.length === 0 ? 'all' : statuses.length === 1 ? statuses[0] : null;
    for (const link of list.querySelectorAll('a[data-status]')) {
      if (link.dataset.status === current) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
  }

  return { refresh, schedule, markCurrent };
}
