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

/** An ISO 8601 timestamp as a <time> element showing local time; the exact UTC value is in its title. */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const date = new Date(iso);
  return h('time', { datetime: iso, title: iso }, Number.isNaN(date.getTime()) ? iso : formatTime(date));
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
