// The queues page: every queue at a glance (paused, running against its limit, queued, oldest queued age,
// finished in the last minutes, partition, rate limit), Pause / Resume, and a form to change a queue's limits.
// Refreshed after live events (at most every second) and every few seconds for what sends none.

import { api, ApiError } from './api.js';
import { h, replaceChildren } from './dom.js';
import { createRefresher } from './refresher.js';

export const BLOCKED_BY = {
  paused: 'its queue is paused',
  type_paused: 'its type is paused in its queue',
  concurrency_limit: "its queue runs as many jobs as its concurrency limit",
  partition_limit: 'its partition key runs as many jobs as the partition limit',
  rate_limit: "its queue's rate limit allows no more starts in this window",
};

export function createQueuesView(main) {
  let editing = null;
  let queues = [];

  const heading = h('h1', { tabindex: '-1' }, 'Queues');
  const status = h('p', { class: 'muted', role: 'status' });
  const error = h('p', { class: 'error', role: 'alert' });
  const body = h('tbody');
  const table = h('table', { class: 'queues', 'data-testid': 'queues' },
    h('thead', {}, h('tr', {}, ...['Queue', 'State', 'Running', 'Queued', 'Waiting', 'Failed', 'Oldest queued', 'Finished 1m / 5m / 15m', 'Partition', 'Rate limit', '']
      .map((name) => h('th', { scope: 'col' }, name)))),
    body);
  const form = h('div');
  replaceChildren(main, h('section', { 'aria-labelledby': 'queues-heading' }, heading, status, error, h('div', { class: 'table-scroll' }, table), form));
  heading.id = 'queues-heading';
  document.title = 'Queues · Jobkeeper';

  function render() {
    replaceChildren(body, queues.map(row));
    status.textContent = `${queues.length} ${queues.length === 1 ? 'queue' : 'queues'}`;
  }

  function row(queue) {
    const state = queue.paused ? 'paused' : queue.paused_types.length ? `running; paused: ${queue.paused_types.join(', ')}` : 'running';
    const toggle = h('button', { type: 'button', 'data-action': queue.paused ? 'resume' : 'pause', onclick: () => pauseOrResume(queue) },
      queue.paused ? 'Resume' : 'Pause');
    const edit = h('button', { type: 'button', 'data-action': 'edit', onclick: () => openForm(queue) }, 'Limits…');
    return h('tr', { 'data-queue': queue.name },
      h('th', { scope: 'row' }, h('a', { href: `#/?queue=${encodeURIComponent(queue.name)}` }, queue.name)),
      h('td', { 'data-testid': 'queue-state' }, h('span', { class: `badge ${queue.paused ? 'status-cancelled' : 'status-running'}` }, state)),
      h('td', { 'data-testid': 'queue-running', class: 'num' }, queue.concurrency_limit != null ? `${queue.running} / ${queue.concurrency_limit}` : String(queue.running)),
      h('td', { class: 'num' }, String(queue.counts.queued ?? 0)),
      h('td', { class: 'num' }, String(queue.counts.waiting ?? 0)),
      h('td', { class: 'num' }, String(queue.counts.failed ?? 0)),
      h('td', { class: 'num' }, age(queue.oldest_queued_age_seconds)),
      h('td', { class: 'num' }, `${queue.throughput.last_minute} / ${queue.throughput.last5_minutes} / ${queue.throughput.last15_minutes}`),
      h('td', {}, partitionText(queue.partition)),
      h('td', {}, rateText(queue.rate_limit, queue.started_in_rate_window)),
      h('td', { class: 'actions' }, toggle, ' ', edit));
  }

  async function pauseOrResume(queue) {
    try {
      await (queue.paused ? api.resumeQueue(queue.name) : api.pauseQueue(queue.name));
      await lister.refresh();
    } catch (e) {
      error.textContent = e.message;
    }
  }

  function openForm(queue) {
    editing = queue.name;
    const field = (id, label, value, attrs = {}) => {
      // No min: a value out of range is refused by the server, whose message names the field.
      const input = h('input', { id, name: id, type: 'number', value: value ?? '', ...attrs });
      return [h('label', { for: id }, label), input];
    };
    const [limitLabel, limit] = field('q-limit', 'Concurrency limit (empty: none)', queue.concurrency_limit);
    const key = h('input', { id: 'q-key', name: 'q-key', type: 'text', value: queue.partition?.key ?? '', placeholder: 'type or label:user' });
    const [perKeyLabel, perKey] = field('q-per-key', 'Running per key (empty: turns only)', queue.partition?.limit);
    const [countLabel, count] = field('q-rate-count', 'Rate: starts (empty: none)', queue.rate_limit?.count);
    const [periodLabel, period] = field('q-rate-period', 'per seconds', queue.rate_limit?.period_seconds);
    const rateByKey = h('input', { id: 'q-rate-key', name: 'q-rate-key', type: 'checkbox', checked: queue.rate_limit?.per_key === true });
    const formError = h('p', { class: 'error', role: 'alert' });
    const number = (input) => (input.value === '' ? null : Number(input.value));
    const save = async (event) => {
      event.preventDefault();
      const patch = {
        concurrency_limit: number(limit),
        partition: key.value.trim() ? { key: key.value.trim(), limit: number(perKey) } : null,
        rate_limit: number(count) != null ? { count: number(count), period_seconds: number(period) ?? 60, per_key: rateByKey.checked } : null,
      };
      try {
        await api.updateQueue(queue.name, patch);
        editing = null;
        replaceChildren(form);
        await lister.refresh();
      } catch (e) {
        const fields = e instanceof ApiError && e.problem?.errors ? Object.keys(e.problem.errors).join(', ') : '';
        formError.textContent = fields ? `${e.message} (${fields})` : e.message;
      }
    };
    // One type of the queue paused or resumed on its own.
    const typeField = h('input', { id: 'q-type', name: 'q-type', type: 'text', placeholder: 'video.render', autocomplete: 'off' });
    const typeAction = (pause) => async () => {
      const type = typeField.value.trim();
      if (!type) {
        formError.textContent = 'Give the job type to pause or resume.';
        return;
      }
      try {
        await (pause ? api.pauseQueue(queue.name, type) : api.resumeQueue(queue.name, type));
        formError.textContent = '';
        await lister.refresh();
      } catch (e) {
        formError.textContent = e.message;
      }
    };
    replaceChildren(form, h('form', { class: 'card queue-form', 'data-testid': 'queue-form', onsubmit: save },
      h('h2', {}, `Limits of ${queue.name}`),
      h('p', { class: 'muted' }, 'They hold on every instance from the moment they are saved. Lowering a limit cancels nothing: new claims wait.'),
      h('div', { class: 'fields' }, limitLabel, limit, h('label', { for: 'q-key' }, 'Partition key'), key, perKeyLabel, perKey,
        countLabel, count, periodLabel, period, h('label', { for: 'q-rate-key' }, 'Rate per key'), rateByKey),
      h('div', { class: 'fields' }, h('label', { for: 'q-type' }, 'One type'), h('span', {}, typeField, ' ',
        h('button', { type: 'button', 'data-action': 'pause-type', onclick: typeAction(true) }, 'Pause type'), ' ',
        h('button', { type: 'button', 'data-action': 'resume-type', onclick: typeAction(false) }, 'Resume type'))),
      formError,
      h('button', { type: 'submit' }, 'Save'), ' ',
      h('button', { type: 'button', onclick: () => { editing = null; replaceChildren(form); } }, 'Close')));
    limit.focus();
  }

  const lister = createRefresher(() => api.listQueues(), (list) => {
    queues = list.items;
    render();
  }, error);

  return {
    onEvent: lister.soon,
    resync: lister.refresh,
    dispose() {
      lister.dispose();
      editing = null;
    },
  };
}

function age(seconds) {
  if (seconds == null) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function partitionText(partition) {
  if (!partition) return '—';
  return partition.limit != null ? `${partition.key}, ${partition.limit} per key` : `${partition.key}, turns only`;
}

function rateText(rate, started) {
  if (!rate) return '—';
  return `${started ?? 0} of ${rate.count} per ${rate.period_seconds} s${rate.per_key ? ' per key' : ''}`;
}
