// One line of a job's history: when, what, who (and the name they gave), why, a short summary, and the raw data on demand.

import { h, time, jsonBlock } from './dom.js';

function summary(event) {
  const data = event.data ?? {};
  switch (event.type) {
    case 'status_changed': {
      const why = data.reason ? ` (${data.reason})` : '';
      return `${data.from ?? '?'} → ${data.to ?? '?'}${why}`;
    }
    case 'stage_changed':
      return data.from ? `${data.from} → ${data.to ?? '—'}` : `${data.to ?? '—'}`;
    case 'updated': {
      const fraction = data.progress?.fraction;
      const fields = Array.isArray(data.fields) ? data.fields.join(', ') : '';
      return typeof fraction === 'number' ? `${fields} · ${Math.round(fraction * 1000) / 10}%` : fields;
    }
    case 'prompt_asked':
      return data.question ?? '';
    case 'debounced':
      return data.run_at ? `input replaced · runs at ${data.run_at}` : 'input replaced';
    case 'prompt_answered':
    case 'prompt_expired':
      return data.answer !== undefined && data.answer !== null ? `answer: ${JSON.stringify(data.answer)}` : '';
    default:
      return '';
  }
}

/**
 * "by ops-key (says “Alice”)": the actor is who the server vouches for (behind API keys, the key); the display name is
 * only what the caller said, so it is shown as that, never in the actor's place.
 */
export function actorText(actor, displayName) {
  if (!actor) return null;
  return displayName ? `by ${actor} (says “${displayName}”)` : `by ${actor}`;
}

export function timelineItem(event) {
  const text = summary(event);
  const hasData = event.data !== null && event.data !== undefined;
  const who = actorText(event.actor, event.display_name);
  return h('li', { 'data-event-id': String(event.id), 'data-type': event.type },
    h('div', { class: 'event-head' },
      time(event.at),
      h('strong', { class: 'event-type' }, event.type),
      who ? h('span', { class: 'muted event-actor' }, who) : null),
    text ? h('p', { class: 'event-summary' }, text) : null,
    event.reason ? h('p', { class: 'event-reason' }, 'Reason: ', event.reason) : null,
    hasData ? h('details', {}, h('summary', {}, 'Data'), jsonBlock(event.data)) : null);
}
