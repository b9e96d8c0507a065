// The schedules page: every schedule (timing, job type, state, next fire times, last fire and its job, skipped fires),
// Pause / Resume / Run now / Delete, and a form to create one. Refreshed every few seconds and after live events.

import { api, ApiError } from './api.js';
import { h, replaceChildren, time } from './dom.js';
import { createRefresher } from './refresher.js';

export function createSchedulesView(main) {
  let schedules = [];

  const heading = h('h1', { tabindex: '-1', id: 'schedules-heading' }, 'Schedules');
  const status = h('p', { class: 'muted', role: 'status' });
  const error = h('p', { class: 'error', role: 'alert' });
  const body = h('tbody');
  const table = h('table', { class: 'schedules', 'data-testid': 'schedules' },
    h('thead', {}, h('tr', {}, ...['Schedule', 'Timing', 'Job', 'State', 'Next fires', 'Last fire', 'Skipped', '']
      .map((name) => h('th', { scope: 'col' }, name)))),
    body);
  const form = createForm();
  replaceChildren(main, h('section', { 'aria-labelledby': 'schedules-heading' }, heading, status, error,
    h('div', { class: 'table-scroll' }, table), form));
  document.title = 'Schedules · Jobkeeper';

  function row(s) {
    const act = (label, action, run) => h('button', { type: 'button', 'data-action': action, onclick: () => perform(run) }, label);
    const timing = s.cron != null ? `cron ${s.cron} (${s.time_zone ?? 'UTC'})` : `every ${s.interval_seconds} s`;
    return h('tr', { 'data-schedule': s.name },
      h('th', { scope: 'row' }, h('a', { href: `#/?label=${encodeURIComponent(`schedule:${s.name}`)}`, title: 'The jobs it created' }, s.name)),
      h('td', {}, h('code', {}, timing), h('div', { class: 'muted' }, `misfire ${s.misfire}${s.catch_up_limit ? ` (${s.catch_up_limit})` : ''}, overlap ${s.overlap}`)),
      h('td', {}, s.job.type, s.job.queue ? h('div', { class: 'muted' }, `queue ${s.job.queue}`) : null),
      h('td', { 'data-testid': 'schedule-state' }, h('span', { class: `badge ${s.paused ? 'status-cancelled' : 'status-running'}` }, s.paused ? 'paused' : 'active')),
      h('td', { 'data-testid': 'schedule-next' }, s.next_runs.length ? h('ul', { class: 'plain' }, s.next_runs.slice(0, 3).map((r) => h('li', {}, time(r)))) : '—'),
      h('td', { 'data-testid': 'schedule-last' }, s.last_fire_at ? time(s.last_fire_at) : '—',
        s.last_job_id ? h('div', {}, h('a', { href: `#/jobs/${encodeURIComponent(s.last_job_id)}` }, 'its job')) : null),
      h('td', { class: 'num' }, String(s.skipped_fires)),
      h('td', { class: 'actions' },
        s.paused ? act('Resume', 'resume', () => api.resumeSchedule(s.name)) : act('Pause', 'pause', () => api.pauseSchedule(s.name)), ' ',
        act('Run now', 'trigger', () => api.triggerSchedule(s.name)), ' ',
        act('Delete', 'delete', () => (confirm(`Delete schedule ${s.name}? The jobs it created stay.`) ? api.deleteSchedule(s.name) : null))));
  }

  async function perform(run) {
    try {
      await run();
      await lister.refresh();
    } catch (e) {
      error.textContent = e.message;
    }
  }

  function createForm() {
    const input = (id, label, attrs = {}) => [h('label', { for: id }, label), h('input', { id, name: id, type: 'text', autocomplete: 'off', ...attrs })];
    const [nameLabel, name] = input('s-name', 'Name', { placeholder: 'nightly-report' });
    const [cronLabel, cron] = input('s-cron', 'Cron (or leave empty)', { placeholder: '0 3 * * *' });
    const [everyLabel, every] = input('s-every', 'Every seconds (or leave empty)', { type: 'number' });
    const [zoneLabel, zone] = input('s-zone', 'Time zone', { placeholder: 'Europe/Berlin' });
    const [typeLabel, type] = input('s-type', 'Job type', { placeholder: 'report.nightly' });
    const formError = h('p', { class: 'error', role: 'alert' });
    const create = async (event) => {
      event.preventDefault();
      const body = {
        name: name.value.trim(),
        cron: cron.value.trim() || undefined,
        interval_seconds: every.value === '' ? undefined : Number(every.value),
        time_zone: zone.value.trim() || undefined,
        job: { type: type.value.trim() },
      };
      try {
        await api.createSchedule(body);
        formError.textContent = '';
        for (const field of [name, cron, every, zone, type]) field.value = '';
        await lister.refresh();
      } catch (e) {
        const fields = e instanceof ApiError && e.problem?.errors ? Object.keys(e.problem.errors).join(', ') : '';
        formError.textContent = e.problem?.detail ? `${e.problem.detail}${fields ? ` (${fields})` : ''}` : e.message;
      }
    };
    return h('form', { class: 'card schedule-form', 'data-testid': 'schedule-form', onsubmit: create },
      h('h2', {}, 'New schedule'),
      h('p', { class: 'muted' }, 'Each fire time creates one job, on whichever instance leads. A cron expression has 5 fields, or 6 with seconds first.'),
      h('div', { class: 'fields' }, nameLabel, name, cronLabel, cron, everyLabel, every, zoneLabel, zone, typeLabel, type),
      formError,
      h('button', { type: 'submit' }, 'Create'));
  }

  // A schedule's fire shows as a new job: look again soon after jobs are created.
  const lister = createRefresher(() => api.listSchedules(), (list) => {
    schedules = list.items;
    replaceChildren(body, schedules.map(row));
    status.textContent = `${schedules.length} ${schedules.length === 1 ? 'schedule' : 'schedules'}`;
  }, error);

  return {
    onEvent: (event) => { if (event.type === 'created') lister.soon(); },
    resync: lister.refresh,
    dispose: lister.dispose,
  };
}
