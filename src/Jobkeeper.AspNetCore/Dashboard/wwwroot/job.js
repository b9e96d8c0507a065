// One job: status, progress, the open question, input and result, error, the event timeline, and
// Cancel / Retry / Delete with an optional reason (recorded in the history). Kept live by the job's own event stream.

import { api, ApiError } from './api.js';
import { h, replaceChildren, time, between, jsonBlock, statusBadge, cancelBadge, progressBar, setProgress } from './dom.js';
import { LiveStream } from './live.js';
import { promptForm, promptIdentity } from './prompt.js';
import { timelineItem, actorText } from './timeline.js';
import { setFlash } from './flash.js';
import { BLOCKED_BY } from './queues.js';

const CAN_CANCEL = ['queued', 'running', 'waiting'];
const CAN_RETRY = ['failed', 'cancelled'];
const FETCH_DELAY_MS = 30;
const MAX_EVENT_PAGES = 20;

export function createJobView(main, id) {
  let job = null;
  const shownEvents = new Set();
  let historyAfter = 0; // how far the history (REST) has been read; live events may arrive out of that order
  let shownPrompt = '';
  let disposed = false;
  let fetchTimer = 0;
  let fetching = false;
  let fetchAgain = false;
  let acting = false;

  const heading = h('h1', { tabindex: '-1', class: 'job-id' }, id);
  const back = h('a', { href: '#/', class: 'back' }, '← All jobs');
  const loadError = h('p', { class: 'error', role: 'alert' });
  const content = h('div', { class: 'job', hidden: true });
  const page = h('section', { 'aria-labelledby': 'job-heading', 'data-testid': 'job', 'data-live': 'connecting' }, back, heading, loadError, content);
  replaceChildren(main, page);
  heading.id = 'job-heading';

  // --- parts, built once and updated in place (so focus and typed answers survive live updates) -------------
  const statusSlot = h('span', { 'data-testid': 'job-status' });
  const cancelSlot = h('span', { class: 'cancel-slot' });
  const heldBack = h('p', { class: 'held-back', 'data-testid': 'job-blocked-by', role: 'status', hidden: true });
  const typeSlot = h('span', { class: 'type' });
  const attemptSlot = h('span', { class: 'muted', 'data-testid': 'job-attempt' });
  const cancelButton = h('button', { type: 'button', onclick: () => act('cancel') }, 'Cancel');
  const retryButton = h('button', { type: 'button', onclick: () => act('retry') }, 'Retry');
  const deleteButton = h('button', { type: 'button', class: 'danger', onclick: remove }, 'Delete');
  const reasonInput = h('input', { type: 'text', id: 'action-reason', name: 'reason', maxlength: '2000', autocomplete: 'off' });
  const actionError = h('p', { class: 'error', role: 'alert' });
  const bar = progressBar({ status: 'queued' }, 'Progress');
  const stage = h('dd');
  const message = h('dd');
  const counter = h('dd');
  const promptSlot = h('div');
  const errorSection = h('section', { class: 'card failure', 'aria-labelledby': 'error-heading', hidden: true });
  const details = h('dl', { class: 'facts' });
  const labels = h('div');
  const inputSlot = h('div');
  const resultSlot = h('div');
  const promptsSection = h('section', { class: 'card', 'aria-labelledby': 'prompts-heading', hidden: true });
  const timeline = h('ol', { class: 'timeline', 'aria-live': 'off' });

  content.append(
    h('div', { class: 'summary-line' }, statusSlot, cancelSlot, typeSlot, attemptSlot),
    heldBack,
    h('div', { class: 'actions', role: 'group', 'aria-label': 'Job actions' }, cancelButton, retryButton, deleteButton),
    h('p', { class: 'action-reason' }, h('label', { for: 'action-reason' }, 'Reason (optional)'), reasonInput),
    actionError,
    h('section', { class: 'card', 'aria-labelledby': 'progress-heading' },
      h('h2', { id: 'progress-heading' }, 'Progress'),
      bar,
      h('dl', { class: 'facts compact' },
        h('dt', {}, 'Stage'), stage,
        h('dt', {}, 'Message'), message,
        h('dt', {}, 'Done'), counter)),
    promptSlot,
    errorSection,
    h('div', { class: 'columns' },
      h('section', { class: 'card', 'aria-labelledby': 'input-heading' }, h('h2', { id: 'input-heading' }, 'Input'), inputSlot),
      h('section', { class: 'card', 'aria-labelledby': 'result-heading' }, h('h2', { id: 'result-heading' }, 'Result'), resultSlot)),
    h('section', { class: 'card', 'aria-labelledby': 'details-heading' },
      h('h2', { id: 'details-heading' }, 'Details'), details, labels),
    promptsSection,
    h('section', { class: 'card', 'aria-labelledby': 'events-heading' },
      h('h2', { id: 'events-heading' }, 'Events'), timeline));

  // --- rendering ------------------------------------------------------------------------------------------
  function render(next) {
    if (job && next.version < job.version) return; // an older read overtaken by a newer one
    job = next;
    content.hidden = false;
    loadError.textContent = '';
    document.title = `${job.id} · Jobkeeper`;

    replaceChildren(statusSlot, statusBadge(job.status));
    replaceChildren(cancelSlot, cancelBadge(job));
    typeSlot.textContent = job.type;
    attemptSlot.textContent = `attempt ${job.attempt} of ${job.max_attempts}`;
    heldBack.hidden = !job.blocked_by;
    replaceChildren(heldBack, job.blocked_by
      ? ['Held back: ', BLOCKED_BY[job.blocked_by] ?? job.blocked_by, ' (', h('a', { href: '#/queues' }, `queue ${job.queue}`), ').']
      : null);
    cancelButton.disabled = acting || !CAN_CANCEL.includes(job.status);
    retryButton.disabled = acting || !CAN_RETRY.includes(job.status);
    deleteButton.disabled = acting;
    reasonInput.disabled = acting;

    setProgress(bar, job);
    stage.textContent = job.progress?.stage ?? '—';
    message.textContent = job.progress?.message ?? '—';
    const { current, total } = job.progress ?? {};
    counter.textContent = current != null || total != null ? `${current ?? '?'} of ${total ?? '?'}` : '—';

    renderPrompt();
    renderError();
    renderFacts();
    replaceChildren(inputSlot, job.input == null ? h('p', { class: 'muted' }, 'No input.') : jsonBlock(job.input));
    replaceChildren(resultSlot, job.result == null ? h('p', { class: 'muted' }, 'No result yet.') : jsonBlock(job.result));
    renderAnswered();
  }

  function openPrompt() {
    if (job.status !== 'waiting') return null;
    const open = (job.prompts ?? []).filter((p) => !p.answered_at);
    return open.length ? open[open.length - 1] : null;
  }

  function renderPrompt() {
    const prompt = openPrompt();
    const identity = promptIdentity(prompt);
    if (identity === shownPrompt) return;
    shownPrompt = identity;
    replaceChildren(promptSlot, prompt ? promptForm(job.id, prompt, render) : null);
  }

  function renderError() {
    const error = job.error;
    errorSection.hidden = !error;
    if (!error) return;
    replaceChildren(errorSection,
      h('h2', { id: 'error-heading' }, 'Error'),
      h('p', { class: 'error-message' }, error.message ?? ''),
      error.code ? h('p', { class: 'muted' }, 'Code: ', h('code', {}, error.code)) : null,
      error.details != null ? jsonBlock(error.details) : null);
  }

  function renderFacts() {
    const rows = [
      ['Id', job.id], ['Type', job.type], ['Queue', job.queue ?? 'default'], ['Status', job.status], ['Priority', String(job.priority)],
      ['Attempt', `${job.attempt} of ${job.max_attempts}`], ['Version', String(job.version)],
      ['Created', time(job.created_at)], ['Updated', time(job.updated_at)], ['Run at', time(job.run_at)],
      ['Started', time(job.started_at)], ['Completed', time(job.completed_at)],
    ];
    // How long it waited for a worker and how long it ran (so far, while it runs).
    if (job.started_at) rows.push(['Waited', between(job.run_at < job.started_at ? job.run_at : job.created_at, job.started_at)]);
    if (job.started_at) rows.push(['Ran', job.completed_at ? between(job.started_at, job.completed_at) : job.status === 'running' ? `${between(job.started_at)} so far` : '—']);
    if (job.lease_owner) rows.push(['Driven by', job.lease_owner], ['Lease until', time(job.lease_expires_at)]);
    if (job.cancel_requested_at) rows.push(['Cancel requested', time(job.cancel_requested_at)]);
    // The key that made its create idempotent: a create with it answers with this job while it blocks.
    if (job.unique_key) rows.push(['Unique key', h('code', {}, job.unique_key)]);
    // The trace id of the request that created the job: what to search for in the tracing backend.
    if (job.traceparent) rows.push(['Trace', h('code', { title: job.traceparent }, job.traceparent.split('-')[1] ?? job.traceparent)]);
    replaceChildren(details, rows.map(([name, value]) => [h('dt', {}, name), h('dd', {}, value)]));

    const entries = Object.entries(job.labels ?? {});
    replaceChildren(labels, entries.length
      ? [h('h3', {}, 'Labels'), h('ul', { class: 'labels' }, entries.map(([k, v]) => h('li', {}, h('code', {}, `${k}:${v}`))))]
      : null);
  }

  function renderAnswered() {
    const answered = (job.prompts ?? []).filter((p) => p.answered_at);
    promptsSection.hidden = answered.length === 0;
    if (!answered.length) return;
    replaceChildren(promptsSection,
      h('h2', { id: 'prompts-heading' }, 'Answered questions'),
      h('ul', { class: 'answers' }, answered.map((p) => h('li', {},
        h('p', { class: 'question' }, p.question),
        h('p', {}, 'Answer: ', h('code', {}, JSON.stringify(p.answer)),
          p.answered_by ? [' ', actorText(p.answered_by, p.answered_by_display_name)] : null, ' · ', time(p.answered_at),
          p.expired ? ' (default, the question expired)' : null),
        p.reason ? h('p', { class: 'muted' }, p.reason) : null))));
  }

  /** Adds events not shown yet, in id order (history pages and live events can interleave). */
  function addEvents(items) {
    for (const event of items) {
      if (shownEvents.has(event.id)) continue;
      shownEvents.add(event.id);
      let before = null;
      for (let node = timeline.lastElementChild; node; node = node.previousElementSibling) {
        if (Number(node.dataset.eventId) < event.id) break;
        before = node;
      }
      timeline.insertBefore(timelineItem(event), before);
    }
  }

  function showMissing() {
    content.hidden = true;
    job = null;
    document.title = 'Job not found · Jobkeeper';
    loadError.textContent = `Job “${id}” was not found. It may have been deleted.`;
    stream.stop();
  }

  // --- loading --------------------------------------------------------------------------------------------
  async function loadJob() {
    if (fetching) {
      fetchAgain = true;
      return;
    }
    fetching = true;
    try {
      const fresh = await api.getJob(id);
      if (!disposed) render(fresh);
    } catch (error) {
      if (disposed) return;
      if (error instanceof ApiError && error.status === 404) showMissing();
      else loadError.textContent = error.message;
    } finally {
      fetching = false;
      if (fetchAgain && !disposed) {
        fetchAgain = false;
        loadJob();
      }
    }
  }

  async function loadEvents() {
    try {
      for (let page = 0; page < MAX_EVENT_PAGES; page++) {
        const list = await api.events(id, historyAfter || undefined);
        if (disposed) return;
        addEvents(list.items);
        if (list.items.length) historyAfter = list.items[list.items.length - 1].id;
        if (list.next_after == null) return;
      }
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404) && !disposed) loadError.textContent = error.message;
    }
  }

  function scheduleJob() {
    if (!fetchTimer) {
      fetchTimer = setTimeout(() => {
        fetchTimer = 0;
        loadJob();
      }, FETCH_DELAY_MS);
    }
  }

  // --- actions --------------------------------------------------------------------------------------------
  async function act(action) {
    if (!job || acting) return;
    acting = true;
    actionError.textContent = '';
    render(job);
    try {
      const reason = reasonInput.value.trim();
      const updated = action === 'cancel' ? await api.cancel(id, reason) : await api.retry(id, reason);
      acting = false;
      reasonInput.value = '';
      render(updated);
    } catch (error) {
      acting = false;
      actionError.textContent = error.message;
      if (job) render(job);
    }
  }

  async function remove() {
    if (!job || acting) return;
    if (!window.confirm(`Delete job “${id}” and its history? This cannot be undone.`)) return;
    acting = true;
    actionError.textContent = '';
    render(job);
    try {
      await api.remove(id, reasonInput.value.trim());
      setFlash(`Deleted job “${id}”.`);
      location.hash = '#/';
    } catch (error) {
      acting = false;
      if (error instanceof ApiError && error.status === 404) {
        showMissing();
        return;
      }
      actionError.textContent = error.message;
      if (job) render(job);
    }
  }

  // --- live -----------------------------------------------------------------------------------------------
  const stream = new LiveStream(api.jobStreamUrl(id), {
    onEvent(event) {
      addEvents([event]);
      scheduleJob();
    },
    onResync() {
      loadJob();
      loadEvents();
    },
    // A refused stream usually means the job is gone (404): find out, and stop if so.
    onRefused: loadJob,
    onState(state) {
      page.dataset.live = state;
    },
  });

  loadJob().then(async () => {
    if (disposed || !job) return;
    await loadEvents();
    if (!disposed && job) stream.start();
  });

  return {
    id,
    focus: () => heading.focus(),
    dispose() {
      disposed = true;
      clearTimeout(fetchTimer);
      stream.stop();
    },
  };
}
