// Bulk actions on a filtered list: retry, cancel or delete every job the filters match (POST /api/v1/jobs/bulk). A dry run
// counts them first, and a dialog states that count before anything changes.

import { api } from './api.js';
import { h, replaceChildren } from './dom.js';

const ACTIONS = [
  { action: 'retry', label: 'Retry all…', verb: 'Retry', doing: 'Retrying', done: 'queued again' },
  { action: 'cancel', label: 'Cancel all…', verb: 'Cancel', doing: 'Cancelling', done: 'cancelled or told to stop' },
  { action: 'delete', label: 'Delete all…', verb: 'Delete', doing: 'Deleting', done: 'deleted', danger: true },
];

/** The list's filters as the bulk route's `filter` (the list's query parameters as JSON), or null when none is set. */
export function bulkFilter(filters) {
  const filter = {};
  if (filters.statuses.length) filter.status = filters.statuses.join(',');
  if (filters.type) filter.type = filters.type;
  if (filters.queue) filter.queue = filters.queue;
  if (filters.label) filter.label = [filters.label];
  if (filters.q) filter.q = filters.q;
  if (filters.createdAfter) filter.created_after = filters.createdAfter;
  if (filters.createdBefore) filter.created_before = filters.createdBefore;
  return Object.keys(filter).length ? filter : null;
}

function describe(filter) {
  return Object.entries(filter).map(([name, value]) => `${name} ${Array.isArray(value) ? value.join(', ') : value}`).join('; ');
}

const plural = (n) => `${n.toLocaleString()} ${n === 1 ? 'job' : 'jobs'}`;

/**
 * The bar of bulk buttons under the filters. `getFilters()` gives the list's current filters; `onDone(message)` runs after an
 * action changed jobs (the list reloads and shows the message).
 */
export function createBulkBar(getFilters, onDone) {
  const status = h('p', { class: 'muted bulk-status', role: 'status' });
  const error = h('p', { class: 'error', role: 'alert' });
  const question = h('p', { id: 'bulk-question' });
  const reasonInput = h('input', { type: 'text', id: 'bulk-reason', maxlength: '500', autocomplete: 'off' });
  const confirmButton = h('button', { type: 'submit', value: 'confirm' }, 'Confirm');
  const dialog = h('dialog', { class: 'bulk-dialog', 'aria-labelledby': 'bulk-question' },
    h('form', { method: 'dialog' },
      question,
      h('div', { class: 'field' }, h('label', { for: 'bulk-reason' }, 'Reason (recorded on each job)'), reasonInput),
      h('div', { class: 'buttons' },
        confirmButton,
        h('button', { type: 'submit', value: 'keep', class: 'secondary' }, 'Keep them'))));

  const buttons = ACTIONS.map((spec) => h('button', {
    type: 'button', class: spec.danger ? 'danger' : 'secondary', 'data-action': spec.action, onclick: () => ask(spec),
  }, spec.label));
  const bar = h('div', { class: 'bulk', role: 'group', 'aria-label': 'Act on every job these filters match' },
    h('span', { class: 'muted' }, 'Every matching job:'), buttons, status, error, dialog);

  function refresh() {
    const filter = bulkFilter(getFilters());
    buttons.forEach((b) => { b.disabled = !filter; });
    status.textContent = filter ? '' : 'Filter the list to act on many jobs at once.';
  }

  async function ask(spec) {
    const filter = bulkFilter(getFilters());
    error.textContent = '';
    if (!filter) return;
    let counted;
    try {
      counted = await api.bulk({ action: spec.action, filter, dry_run: true });
    } catch (e) {
      error.textContent = e.message;
      return;
    }
    if (counted.matched === 0) {
      status.textContent = 'No job matches these filters.';
      return;
    }
    replaceChildren(question, `${spec.verb} ${plural(counted.matched)} matching ${describe(filter)}?`,
      spec.action === 'delete' ? ' Their history goes with them; this cannot be undone.' : '');
    confirmButton.textContent = `${spec.verb} ${plural(counted.matched)}`;
    confirmButton.className = spec.danger ? 'danger' : '';
    reasonInput.value = '';
    dialog.returnValue = '';
    dialog.showModal();
    dialog.addEventListener('close', async () => {
      if (dialog.returnValue !== 'confirm') return;
      status.textContent = `${spec.doing} ${plural(counted.matched)}…`;
      buttons.forEach((b) => { b.disabled = true; });
      try {
        const result = await api.bulk({ action: spec.action, filter }, reasonInput.value.trim());
        const skipped = result.skipped ? `; ${plural(result.skipped)} skipped (their status does not allow it)` : '';
        status.textContent = '';
        onDone(`${plural(result.changed)} ${spec.done} of ${result.matched.toLocaleString()} matching${skipped}.`);
      } catch (e) {
        status.textContent = '';
        error.textContent = e.message;
      } finally {
        refresh();
      }
    }, { once: true });
  }

  refresh();
  return { element: bar, refresh };
}
