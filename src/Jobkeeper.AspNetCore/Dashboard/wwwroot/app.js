// Starts the dashboard: hash routes (#/ the list, #/jobs/{id} one job, #/inbox the questions waiting, #/workers the workers, #/queues the queues, #/schedules the schedules), the counts in the header, and the
// all-jobs event stream that keeps the counts and the list live.

import { api } from './api.js';
import { createCounts } from './counts.js';
import { parseFilters } from './filters.js';
import { createListView } from './list.js';
import { createJobView } from './job.js';
import { createQueuesView } from './queues.js';
import { createSchedulesView } from './schedules.js';
import { createInboxView } from './inbox.js';
import { createWorkersView } from './workers.js';
import { LiveStream } from './live.js';
import { bindNameField } from './who.js';

const main = document.getElementById('main');
const live = document.getElementById('live');
const counts = createCounts(document.getElementById('counts'));
bindNameField(document.getElementById('actor-name'));

let view = null; // { kind, id?, setFilters?, onEvent?, resync?, focus?, dispose() }

// The pages without parameters, by their address.
const PAGES = {
  '#/inbox': createInboxView,
  '#/workers': createWorkersView,
  '#/queues': createQueuesView,
  '#/schedules': createSchedulesView,
};

function route() {
  const hash = location.hash || '#/';
  const job = /^#\/jobs\/([^?]+)$/.exec(hash);
  const first = view === null;
  const page = PAGES[hash];
  if (page) {
    if (view?.kind === hash) return;
    view?.dispose();
    view = { kind: hash, ...page(main) };
    counts.markCurrent(null);
  } else if (job) {
    const id = decodeURIComponent(job[1]);
    if (view?.kind === 'job' && view.id === id) return;
    view?.dispose();
    view = { kind: 'job', ...createJobView(main, id) };
    counts.markCurrent(null);
  } else {
    const query = hash.startsWith('#/?') ? hash.slice(3) : '';
    const filters = parseFilters(query);
    counts.markCurrent(filters.type || filters.queue || filters.label || filters.q || filters.createdAfter || filters.createdBefore ? null : filters.statuses);
    if (view?.kind === 'list') {
      view.setFilters(filters);
      return;
    }
    view?.dispose();
    view = { kind: 'list', ...createListView(main, filters) };
    document.title = 'Jobs · Jobkeeper';
  }
  // After a navigation, put keyboard and screen-reader focus on the new page's heading.
  if (!first) main.querySelector('h1')?.focus();
}

const STATES = { connecting: 'Connecting…', open: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline, retrying…' };

new LiveStream(api.allEventsUrl(), {
  onEvent(event) {
    counts.schedule();
    view?.onEvent?.(event);
  },
  onResync() {
    counts.refresh();
    view?.resync?.();
  },
  onState(state) {
    live.dataset.state = state;
    live.textContent = STATES[state] ?? state;
  },
}).start();

window.addEventListener('hashchange', route);
route();
counts.refresh();
