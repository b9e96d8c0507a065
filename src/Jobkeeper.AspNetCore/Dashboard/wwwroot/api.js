// The HTTP API, same origin only. URLs are resolved against this module (/dashboard/api.js), so the
// dashboard keeps working when the app is served under a path base.

import { askForKey, currentKey } from './key.js';
import { actorName } from './who.js';

const base = new URL('../', import.meta.url);

/** A failed call: `status` and the problem details' `detail` (or title) as the message. */
export class ApiError extends Error {
  constructor(status, problem, fallback) {
    super(problem?.detail || problem?.title || fallback);
    this.status = status;
    this.problem = problem;
  }
}

export function url(path, query) {
  const target = new URL(path.replace(/^\//, ''), base);
  for (const [name, value] of Object.entries(query ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined && one !== null && one !== '') target.searchParams.append(name, one);
    }
  }
  return target;
}

// An API key in sessionStorage (key.js) is sent as a bearer token on every fetch. EventSource cannot send
// headers, so the two streams take it as ?access_token= (the server accepts that on those routes only).
// X-Actor (the person's name, who.js) and X-Reason are percent-encoded: a header value carries only ASCII safely.
function headers(reason) {
  const all = new Headers();
  all.set('Accept', 'application/json, application/problem+json');
  all.set('X-Actor', encodeURIComponent(actorName()));
  if (reason) all.set('X-Reason', encodeURIComponent(reason));
  const key = currentKey();
  if (key) all.set('Authorization', `Bearer ${key}`);
  return all;
}

async function call(method, path, { query, body, signal, reason } = {}) {
  const init = { method, headers: headers(reason), signal, cache: 'no-store' };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers.set('Content-Type', 'application/json');
  }

  let response;
  try {
    response = await fetch(url(path, query), init);
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, null, `The server cannot be reached (${error.message}).`);
  }

  if (response.status === 204) return null;
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (a proxy's error page, say): the status line says enough.
  }

  if (response.status === 401) askForKey(Boolean(currentKey()));
  if (!response.ok) {
    throw new ApiError(response.status, json, `${method} ${path} failed: ${response.status} ${response.statusText}`);
  }
  return json;
}

const job = (id) => `/api/v1/jobs/${encodeURIComponent(id)}`;

export const api = {
  health: (signal) => call('GET', '/health', { signal }).catch((error) => {
    // /health answers 503 with the same shape when the store cannot be read; show what it says.
    if (error instanceof ApiError && error.status === 503 && error.problem) return error.problem;
    throw error;
  }),
  listJobs: (filters, cursor, signal) => call('GET', '/api/v1/jobs', {
    signal,
    query: {
      status: filters.statuses.length ? filters.statuses.join(',') : undefined,
      type: filters.type,
      queue: filters.queue,
      label: filters.label,
      q: filters.q || undefined,
      created_after: filters.createdAfter || undefined,
      created_before: filters.createdBefore || undefined,
      sort: filters.sort && filters.sort !== '-created' ? filters.sort : undefined,
      limit: filters.limit,
      cursor,
    },
  }),
  getJob: (id, signal) => call('GET', job(id), { signal }),
  events: (id, after, signal) => call('GET', `${job(id)}/events`, { signal, query: { after, limit: 1000 } }),
  cancel: (id, reason) => call('POST', `${job(id)}/cancel`, { reason }),
  retry: (id, reason) => call('POST', `${job(id)}/retry`, { reason }),
  remove: (id, reason) => call('DELETE', job(id), { reason }),
  bulk: (body, reason) => call('POST', '/api/v1/jobs/bulk', { body, reason }),
  answer: (id, key, answer, reason, confidence) => call('POST', `${job(id)}/prompt/response`, { body: { answer, key, reason: reason || undefined, confidence } }),
  listWorkers: (signal) => call('GET', '/api/v1/workers', { signal }),
  listQueues: (signal) => call('GET', '/api/v1/queues', { signal }),
  updateQueue: (name, patch) => call('PATCH', `/api/v1/queues/${encodeURIComponent(name)}`, { body: patch }),
  pauseQueue: (name, type) => call('POST', `/api/v1/queues/${encodeURIComponent(name)}/pause`, { body: type ? { type } : {} }),
  resumeQueue: (name, type) => call('POST', `/api/v1/queues/${encodeURIComponent(name)}/resume`, { body: type ? { type } : {} }),
  listSchedules: (signal) => call('GET', '/api/v1/schedules', { signal }),
  createSchedule: (body) => call('POST', '/api/v1/schedules', { body }),
  pauseSchedule: (name) => call('POST', `/api/v1/schedules/${encodeURIComponent(name)}/pause`),
  resumeSchedule: (name) => call('POST', `/api/v1/schedules/${encodeURIComponent(name)}/resume`),
  triggerSchedule: (name) => call('POST', `/api/v1/schedules/${encodeURIComponent(name)}/trigger`),
  deleteSchedule: (name) => call('DELETE', `/api/v1/schedules/${encodeURIComponent(name)}`),
  allEventsUrl: () => url('/api/v1/events', { access_token: currentKey() }),
  jobStreamUrl: (id) => url(`${job(id)}/stream`, { access_token: currentKey() }),
};
