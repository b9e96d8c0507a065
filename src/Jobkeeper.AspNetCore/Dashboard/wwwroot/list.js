// The job list: filters, find by id, a table of jobs kept live from the all-jobs event stream, and "Load more".

import { api, ApiError } from './api.js';
import { h, replaceChildren, time, statusBadge, cancelBadge, progressBar, setProgress, progressPercent } from './dom.js';
import { STATUSES, PAGE_SIZES, SORTS, DEFAULT_SORT, filtersHash, matches, mayMatch, sameFilters } from './filters.js';
import { takeFlash } from './flash.js';
import { BLOCKED_BY } from './queues.js';
import { createBulkBar } from './bulk.js';

// Past this many jobs to look up at once, reloading the page is cheaper than one request per job.
const MAX_SINGLE_FETCHES = 20;
const FETCH_DELAY_MS = 30;

/** Newest first, like the server: by created_at, then id, both descending. */
function newerFirst(a, b) {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
  if (a.id === b.id) return 0;
  return a.id < b.id ? 1 : -1;
}

/** A UTC instant as the value of a datetime-local field (local time), or ''. */
function toLocalInput(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 19);
}

/** A datetime-local field's value (local time) as a UTC instant, or ''. */
function fromLocalInput(value) {
  const date = value ? new Date(value) : null;
  return date && !Number.isNaN(date.getTime()) ? date.toISOString() : '';
}

export function createListView(main, initialFilters) {
  let filters = initialFilters;
  const rows = new Map(); // id → { job, tr, bar, status, updated }
  let nextCursor = null;
  let oldestLoaded = null; // the last job of the last page the server sent: live inserts stay above it
  let loading = null; // AbortController of the load in flight
  const pending = new Set();
  let fetchTimer = 0;
  let disposed = false;

  // --- the page -------------------------------------------------------------------------------------------
  const statusBoxes = STATUSES.map((status) => h('input', { type: 'checkbox', name: 'status', value: status, onchange: apply }));
  const typeInput = h('input', { type: 'text', name: 'type', id: 'filter-type', autocomplete: 'off', spellcheck: 'false' });
  const queueInput = h('input', { type: 'text', name: 'queue', id: 'filter-queue', autocomplete: 'off', spellcheck: 'false' });
  const searchInput = h('input', {
    type: 'search', name: 'q', id: 'filter-q', placeholder: 'id prefix or words', autocomplete: 'off', spellcheck: 'false', maxlength: '1000',
  });
  const labelInput = h('input', {
    type: 'text', name: 'label', id: 'filter-label', placeholder: 'key:value', autocomplete: 'off', spellcheck: 'false',
  });
  // Created from / before, in local time in the fields and as UTC instants in the address.
  const afterInput = h('input', { type: 'datetime-local', name: 'created_after', id: 'filter-after', step: '1' });
  const beforeInput = h('input', { type: 'datetime-local', name: 'created_before', id: 'filter-before', step: '1' });
  const sortSelect = h('select', { name: 'sort', id: 'filter-sort', onchange: apply },
    SORTS.map(([value, text]) => h('option', { value }, text)));
  const limitSelect = h('select', { name: 'limit', id: 'filter-limit', onchange: apply },
    PAGE_SIZES.map((size) => h('option', { value: String(size) }, String(size))));

  const filterForm = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter jobs', onsubmit: (e) => { e.preventDefault(); apply(); } },
    h('fieldset', { class: 'statuses' },
      h('legend', {}, 'Status'),
      STATUSES.map((status, i) => h('label', { class: 'check' }, statusBoxes[i], status))),
    h('div', { class: 'field' }, h('label', { for: 'filter-q' }, 'Search'), searchInput),
    h('div', { class: 'field' }, h('label', { for: 'filter-type' }, 'Type'), typeInput),
    h('div', { class: 'field' }, h('label', { for: 'filter-queue' }, 'Queue'), queueInput),
    h('div', { class: 'field' }, h('label', { for: 'filter-label' }, 'Label'), labelInput),
    h('div', { class: 'field' }, h('label', { for: 'filter-after' }, 'Created from'), afterInput),
    h('div', { class: 'field' }, h('label', { for: 'filter-before' }, 'Created before'), beforeInput),
    h('div', { class: 'field' }, h('label', { for: 'filter-sort' }, 'Sort'), sortSelect),
    h('div', { class: 'field narrow' }, h('label', { for: 'filter-limit' }, 'Per page'), limitSelect),
    h('div', { class: 'buttons' },
      h('button', { type: 'submit' }, 'Apply'),
      h('button', { type: 'button', class: 'secondary', onclick: clear }, 'Clear')));

  // On a phone the filters fold into one line ("Filters · 2 set") that opens them; on a wider screen they stay open.
  const filterSummary = h('summary', {}, 'Filters');
  const filterBox = h('details', { class: 'filter-box' }, filterSummary, filterForm);
  const wide = window.matchMedia('(min-width: 700px)');
  filterBox.open = wide.matches;
  const openWhenWide = (e) => { if (e.matches) filterBox.open = true; };
  wide.addEventListener('change', openWhenWide);

  const findInput = h('input', { type: 'search', name: 'id', id: 'find-id', required: true, autocomplete: 'off', spellcheck: 'false' });
  const findError = h('p', { class: 'error', role: 'alert' });
  const findForm = h('form', { class: 'find', role: 'search', 'aria-label': 'Find a job by id', onsubmit: find },
    h('div', { class: 'field' }, h('label', { for: 'find-id' }, 'Job id'), findInput),
    h('div', { class: 'buttons' }, h('button', { type: 'submit' }, 'Open')),
    findError);

  const notice = h('p', { class: 'notice', role: 'status' });
  const listError = h('p', { class: 'error', role: 'alert' });
  const summary = h('p', { class: 'muted summary', 'aria-live': 'polite' });
  const tbody = h('tbody');
  const table = h('table', { class: 'jobs', 'aria-describedby': 'list-summary' },
    h('caption', { class: 'visually-hidden' }, 'Jobs'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Id'),
      h('th', { scope: 'col' }, 'Type'),
      h('th', { scope: 'col' }, 'Queue'),
      h('th', { scope: 'col' }, 'Status'),
      h('th', { scope: 'col' }, 'Progress'),
      h('th', { scope: 'col' }, 'Updated'))),
    tbody);
  summary.id = 'list-summary';
  const more = h('button', { type: 'button', class: 'more', onclick: loadMore, hidden: true }, 'Load more');

  const bulk = createBulkBar(() => filters, (message) => {
    notice.textContent = message;
    notice.hidden = false;
    load();
  });

  const heading = h('h1', { tabindex: '-1' }, 'Jobs');
  replaceChildren(main,
    h('section', { class: 'list', 'aria-labelledby': 'list-heading' },
      heading,
      notice,
      h('div', { class: 'toolbar' }, filterBox, findForm),
      bulk.element,
      listError,
      summary,
      h('div', { class: 'table-wrap' }, table),
      more));
  heading.id = 'list-heading';

  const flash = takeFlash();
  notice.textContent = flash ?? '';
  notice.hidden = !flash;

  showFilters();
  load();

  // --- filters and find -----------------------------------------------------------------------------------
  function showFilters() {
    const set = filters.statuses.length + [filters.type, filters.queue, filters.label, filters.q, filters.createdAfter, filters.createdBefore].filter(Boolean).length;
    filterSummary.textContent = set ? `Filters · ${set} set` : 'Filters';
    statusBoxes.forEach((box) => { box.checked = filters.statuses.includes(box.value); });
    typeInput.value = filters.type;
    queueInput.value = filters.queue;
    labelInput.value = filters.label;
    searchInput.value = filters.q;
    sortSelect.value = filters.sort ?? DEFAULT_SORT;
    afterInput.value = toLocalInput(filters.createdAfter);
    beforeInput.value = toLocalInput(filters.createdBefore);
    limitSelect.value = String(filters.limit);
  }

  function apply() {
    const wanted = {
      statuses: statusBoxes.filter((box) => box.checked).map((box) => box.value),
      type: typeInput.value.trim(),
      queue: queueInput.value.trim(),
      label: labelInput.value.trim(),
      q: searchInput.value.trim(),
      sort: sortSelect.value,
      createdAfter: fromLocalInput(afterInput.value),
      createdBefore: fromLocalInput(beforeInput.value),
      limit: Number.parseInt(limitSelect.value, 10),
    };
    // The router hands the new filters back through setFilters.
    const hash = filtersHash(wanted);
    if (location.hash === hash || (hash === '#/' && !location.hash)) setFilters(wanted);
    else location.hash = hash;
  }

  function clear() {
    statusBoxes.forEach((box) => { box.checked = false; });
    typeInput.value = '';
    queueInput.value = '';
    labelInput.value = '';
    searchInput.value = '';
    afterInput.value = '';
    beforeInput.value = '';
    apply();
  }

  async function find(event) {
    event.preventDefault();
    const id = findInput.value.trim();
    findError.textContent = '';
    if (!id) return;
    try {
      const job = await api.getJob(id);
      location.hash = `#/jobs/${encodeURIComponent(job.id)}`;
    } catch (error) {
      findError.textContent = error instanceof ApiError && error.status === 404 ? `No job with id “${id}”.` : error.message;
    }
  }

  function setFilters(next) {
    if (sameFilters(next, filters)) return;
    filters = next;
    // A message about the previous view (a delete, a bulk action) does not follow to another one.
    notice.textContent = '';
    notice.hidden = true;
    showFilters();
    bulk.refresh();
    load();
  }

  // --- loading --------------------------------------------------------------------------------------------
  async function load() {
    loading?.abort();
    const controller = new AbortController();
    loading = controller;
    table.setAttribute('aria-busy', 'true');
    try {
      const page = await api.listJobs(filters, null, controller.signal);
      if (controller.signal.aborted) return;
      listError.textContent = '';
      rows.clear();
      tbody.textContent = '';
      addPage(page);
    } catch (error) {
      if (error.name === 'AbortError') return;
      listError.textContent = error.message;
      rows.clear();
      tbody.textContent = '';
      nextCursor = null;
      render();
    } finally {
      if (loading === controller) {
        loading = null;
        table.removeAttribute('aria-busy');
      }
    }
  }

  async function loadMore() {
    if (!nextCursor || loading) return;
    const controller = new AbortController();
    loading = controller;
    more.disabled = true;
    try {
      const page = await api.listJobs(filters, nextCursor, controller.signal);
      if (controller.signal.aborted) return;
      listError.textContent = '';
      addPage(page);
    } catch (error) {
      if (error.name !== 'AbortError') listError.textContent = error.message;
    } finally {
      more.disabled = false;
      if (loading === controller) loading = null;
    }
  }

  function addPage(page) {
    for (const job of page.items) {
      if (!rows.has(job.id)) tbody.appendChild(newRow(job));
    }
    if (page.items.length) oldestLoaded = page.items[page.items.length - 1];
    else if (!rows.size) oldestLoaded = null;
    nextCursor = page.next_cursor ?? null;
    render();
  }

  function render() {
    more.hidden = !nextCursor;
    if (rows.size === 0) {
      tbody.querySelector('tr.empty')?.remove();
      tbody.appendChild(h('tr', { class: 'empty' }, h('td', { colspan: '6' },
        listError.textContent ? 'The jobs could not be loaded.' : 'No jobs match these filters.')));
    } else {
      tbody.querySelector('tr.empty')?.remove();
    }
    const shown = rows.size === 1 ? '1 job' : `${rows.size} jobs`;
    const rest = (filters.sort ?? DEFAULT_SORT) === DEFAULT_SORT ? 'more are older' : 'more follow';
    summary.textContent = nextCursor ? `${shown} shown; ${rest}.` : `${shown}.`;
  }

  // --- rows -----------------------------------------------------------------------------------------------
  function newRow(job) {
    const link = h('a', { href: `#/jobs/${encodeURIComponent(job.id)}` }, job.id);
    const status = h('td', { 'data-label': 'Status' }, ...statusCell(job));
    const bar = progressBar(job, `Progress of ${job.id}`);
    const percent = h('span', { class: 'progress-text' }, `${progressPercent(job)}%`);
    const updated = h('td', { 'data-label': 'Updated' }, time(job.updated_at));
    const tr = h('tr', { 'data-id': job.id },
      h('th', { scope: 'row', class: 'id', 'data-label': 'Id', title: job.id }, link),
      h('td', { 'data-label': 'Type', class: 'type' }, job.type),
      h('td', { 'data-label': 'Queue', class: 'queue' }, job.queue ?? 'default'),
      status,
      h('td', { 'data-label': 'Progress', class: 'progress-cell' }, h('div', { class: 'progress-line' }, bar, percent)),
      updated);
    rows.set(job.id, { job, tr, bar, percent, status, updated });
    return tr;
  }

  // A queued job its queue holds back says so beside its status (the reason in the title).
  function statusCell(job) {
    const cancel = cancelBadge(job);
    return job.blocked_by
      ? [statusBadge(job.status), ' ', h('span', { class: 'muted held', title: BLOCKED_BY[job.blocked_by] ?? job.blocked_by }, 'held back')]
      : cancel ? [statusBadge(job.status), ' ', cancel] : [statusBadge(job.status)];
  }

  function updateRow(row, job) {
    if (job.version < row.job.version) return; // an older read overtaken by a newer one
    const statusChanged = row.job.status !== job.status;
    const blockedBy = row.job.blocked_by;
    const cancelRequested = row.job.cancel_requested_at;
    row.job = job;
    if (statusChanged || blockedBy !== job.blocked_by || cancelRequested !== job.cancel_requested_at) replaceChildren(row.status, ...statusCell(job));
    setProgress(row.bar, job);
    row.percent.textContent = `${progressPercent(job)}%`;
    replaceChildren(row.updated, time(job.updated_at));
  }

  function removeRow(id) {
    const row = rows.get(id);
    if (!row) return;
    row.tr.remove();
    rows.delete(id);
    render();
  }

  /** A job read after a live event: update, insert or drop its row. */
  function place(job) {
    const row = rows.get(job.id);
    if (!matches(job, filters)) {
      if (row) removeRow(job.id);
      return;
    }
    if (row) {
      updateRow(row, job);
      return;
    }
    // In another order than newest first, where a new job belongs is the server's to say: it shows on the next load.
    if ((filters.sort ?? DEFAULT_SORT) !== DEFAULT_SORT) return;
    // Only inside the loaded window: a job older than the last loaded one belongs to a later page.
    if (nextCursor && oldestLoaded && newerFirst(job, oldestLoaded) > 0) return;
    // The rows are in order, newest first: the new one goes before the first older one.
    let before = null;
    for (const tr of tbody.rows) {
      const other = rows.get(tr.dataset.id);
      if (other && newerFirst(job, other.job) < 0) {
        before = tr;
        break;
      }
    }
    tbody.insertBefore(newRow(job), before);
    render();
  }

  // --- live -----------------------------------------------------------------------------------------------
  function onEvent(event) {
    if (!event.job_id) return;
    const row = rows.get(event.job_id);
    if (row && typeof event.version === 'number' && event.version <= row.job.version) return;
    if (!row && !mayMatch(event, filters)) return;
    pending.add(event.job_id);
    if (!fetchTimer) fetchTimer = setTimeout(fetchPending, FETCH_DELAY_MS);
  }

  async function fetchPending() {
    fetchTimer = 0;
    const ids = [...pending];
    pending.clear();
    if (disposed) return;
    if (ids.length > MAX_SINGLE_FETCHES) {
      load();
      return;
    }
    await Promise.all(ids.map(async (id) => {
      try {
        const job = await api.getJob(id);
        if (!disposed) place(job);
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) removeRow(id);
      }
    }));
  }

  return {
    setFilters,
    onEvent,
    resync: load,
    dispose() {
      disposed = true;
      wide.removeEventListener('change', openWhenWide);
      loading?.abort();
      clearTimeout(fetchTimer);
    },
  };
}
