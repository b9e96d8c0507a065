// The list's filters live in the URL hash (#/?status=queued,running&type=…&queue=…&label=k:v&q=words&limit=50),
// so a filtered view can be bookmarked, shared and reached from the status counts.

export const STATUSES = ['queued', 'running', 'waiting', 'completed', 'failed', 'cancelled'];
export const PAGE_SIZES = [10, 25, 50, 100];
export const DEFAULT_LIMIT = 50;
// The orders the server sorts by (sort=); the default, newest first, is left out of the address.
export const SORTS = [
  ['-created', 'Newest first'], ['created', 'Oldest first'], ['-updated', 'Recently changed'], ['updated', 'Least recently changed'],
  ['-priority', 'Highest priority'], ['priority', 'Lowest priority'], ['-duration', 'Longest run'], ['duration', 'Shortest run'],
];
export const DEFAULT_SORT = '-created';

export function parseFilters(query) {
  const params = new URLSearchParams(query);
  const statuses = (params.get('status') ?? '').split(',').map((s) => s.trim()).filter((s) => STATUSES.includes(s));
  const limit = Number.parseInt(params.get('limit') ?? '', 10);
  return {
    statuses: STATUSES.filter((s) => statuses.includes(s)),
    type: (params.get('type') ?? '').trim(),
    queue: (params.get('queue') ?? '').trim(),
    label: (params.get('label') ?? '').trim(),
    q: (params.get('q') ?? '').trim(),
    createdAfter: validTime(params.get('created_after')),
    createdBefore: validTime(params.get('created_before')),
    sort: SORTS.some(([value]) => value === params.get('sort')) ? params.get('sort') : DEFAULT_SORT,
    limit: PAGE_SIZES.includes(limit) ? limit : DEFAULT_LIMIT,
  };
}

export function filtersHash(filters) {
  const params = new URLSearchParams();
  if (filters.statuses.length) params.set('status', filters.statuses.join(','));
  if (filters.type) params.set('type', filters.type);
  if (filters.queue) params.set('queue', filters.queue);
  if (filters.label) params.set('label', filters.label);
  if (filters.q) params.set('q', filters.q);
  if (filters.createdAfter) params.set('created_after', filters.createdAfter);
  if (filters.createdBefore) params.set('created_before', filters.createdBefore);
  if (filters.sort && filters.sort !== DEFAULT_SORT) params.set('sort', filters.sort);
  if (filters.limit !== DEFAULT_LIMIT) params.set('limit', String(filters.limit));
  const query = params.toString();
  return query ? `#/?${query}` : '#/';
}

export function sameFilters(a, b) {
  return filtersHash(a) === filtersHash(b);
}

/** An ISO 8601 instant from the address, or '' when there is none or it is not one. */
function validTime(text) {
  return text && !Number.isNaN(new Date(text).getTime()) ? new Date(text).toISOString() : '';
}

/** Whether a job belongs in the list under these filters (what the server would answer). */
export function matches(job, filters) {
  if (filters.createdAfter && new Date(job.created_at) < new Date(filters.createdAfter)) return false;
  if (filters.createdBefore && new Date(job.created_at) >= new Date(filters.createdBefore)) return false;
  if (filters.statuses.length && !filters.statuses.includes(job.status)) return false;
  if (filters.type && job.type !== filters.type) return false;
  if (filters.queue && job.queue !== filters.queue) return false;
  if (filters.label) {
    const colon = filters.label.indexOf(':');
    if (colon <= 0) return false;
    if (job.labels?.[filters.label.slice(0, colon)] !== filters.label.slice(colon + 1)) return false;
  }
  if (filters.q && !searchMatches(job, filters.q)) return false;
  return true;
}

/** The words of a search as the server cuts them: runs of letters and digits, lower-cased. */
export function searchWords(text) {
  return [...new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])];
}

/** What the server's search matches (q=): an id that starts with the text, or a job whose text has every word of it. */
export function searchMatches(job, q) {
  if (job.id.startsWith(q)) return true;
  const words = searchWords(q);
  if (!words.length) return false;
  const text = new Set(searchWords([job.type, JSON.stringify(job.labels ?? {}), JSON.stringify(job.input ?? null),
    JSON.stringify(job.result ?? null), JSON.stringify(job.error ?? null)].join(' ')));
  return words.every((w) => text.has(w));
}

/** Whether a live event may concern a job of this list, judged from the job type and status it carries. */
export function mayMatch(event, filters) {
  if (filters.statuses.length && event.job_status && !filters.statuses.includes(event.job_status)) return false;
  if (filters.type && event.job_type && event.job_type !== filters.type) return false;
  return true;
}
