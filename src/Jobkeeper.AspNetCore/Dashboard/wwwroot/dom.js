// Builds DOM nodes. Text always goes in as text nodes (never HTML), so job data cannot inject markup.

/**
 * h('a', { href: '#/', class: 'x', 'aria-label': 'Home', onclick: fn }, 'text', child, [more])
 * Attributes: strings via setAttribute; `on*` functions as listeners; false/null/undefined are left off; true sets an empty attribute.
 */
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      node.addEventListener(name.slice(2), value);
    } else if (value === true) {
      node.setAttribute(name, '');
    } else {
      node.setAttribute(name, String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces every child of `node`. */
export function replaceChildren(node, ...children) {
  node.textContent = '';
  append(node, children);
}

/**
 * An ISO 8601 timestamp as a <time> element showing local time (the exact UTC value in its title), and beside it how long
 * ago (or how soon) that is, kept current while the page is open.
 */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return h('time', { datetime: iso, title: iso }, iso);
  return h('span', { class: 'when' },
    h('time', { datetime: iso, title: iso }, formatTime(date)),
    h('span', { class: 'rel muted', 'data-at': iso }, relative(date)));
}

/** "just now", "3 min ago", "in 2 h", "5 d ago". */
export function relative(date, now = Date.now()) {
  const seconds = Math.round((date.getTime() - now) / 1000);
  const away = Math.abs(seconds);
  if (away < 5) return 'just now';
  const text = duration(away * 1000);
  return seconds < 0 ? `${text} ago` : `in ${text}`;
}

/** A length of time, short: "850 ms", "42 s", "3 min 5 s", "2 h 10 min", "4 d 3 h". */
export function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const hours = Math.floor(m / 60);
  if (hours < 24) return m % 60 ? `${hours} h ${m % 60} min` : `${hours} h`;
  const d = Math.floor(hours / 24);
  return hours % 24 ? `${d} d ${hours % 24} h` : `${d} d`;
}

/** The time between two ISO timestamps (to now when `to` is missing), or null when `from` is. */
export function between(from, to) {
  if (!from) return null;
  return duration((to ? new Date(to) : new Date()).getTime() - new Date(from).getTime());
}

// Every relative time on the page moves on as the clock does.
setInterval(() => {
  for (const node of document.querySelectorAll('.rel[data-at]')) node.textContent = relative(new Date(node.dataset.at));
}, 15000);

/** The badge "cancel requested" for a job told to stop that has not yet stopped, else null. */
export function cancelBadge(job) {
  return job.cancel_requested_at && !['completed', 'failed', 'cancelled'].includes(job.status)
    ? h('span', { class: 'badge cancel-requested', title: `Cancel requested ${job.cancel_requested_at}` }, 'cancel requested')
    : null;
}

const formatter = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});

export function formatTime(date) {
  return formatter.format(date);
}

/** Any JSON value, pretty printed in a <pre> (as text). Long lines scroll inside it, not the page. */
export function jsonBlock(value) {
  return h('pre', { class: 'json' }, JSON.stringify(value, null, 2));
}

export function statusBadge(status) {
  return h('span', { class: `badge status-${status}` }, status);
}

/** A progress bar: role=progressbar with aria-valuenow in percent (0–100). */
export function progressBar(job, label) {
  const percent = progressPercent(job);
  const text = progressText(job, percent);
  const bar = h('div', {
    class: 'progress', role: 'progressbar', 'aria-label': label,
    'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(percent), 'aria-valuetext': text,
  }, h('div', { class: 'progress-fill' }));
  setProgress(bar, job);
  return bar;
}

/** Moves an existing bar to the job's progress (keeps the node, so a CSS transition shows the move). */
export function setProgress(bar, job) {
  const percent = progressPercent(job);
  bar.setAttribute('aria-valuenow', String(percent));
  bar.setAttribute('aria-valuetext', progressText(job, percent));
  bar.dataset.status = job.status;
  bar.firstElementChild.style.width = `${percent}%`;
}

/** The fraction in percent (one decimal at most); a completed job without a fraction counts as done. */
export function progressPercent(job) {
  const fraction = job.progress?.fraction;
  if (typeof fraction === 'number') return Math.round(Math.min(1, Math.max(0, fraction)) * 1000) / 10;
  return job.status === 'completed' ? 100 : 0;
}

function progressText(job, percent) {
  const stage = job.progress?.stage;
  return stage ? `${percent}% (${stage})` : `${percent}%`;
}
