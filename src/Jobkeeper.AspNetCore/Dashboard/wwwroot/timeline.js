// One line of a job's history: when, what, who, a short summary, and the raw data on demand.

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
    case 'prompt_answered':
    case 'prompt_expired':
      return data.answer !== undefined && data.answer !== null ? `answer: ${JSON.stringify(data.answer)}` : '';
    default:
      return '';
  }
}

export function timelineItem(event) {
  const text = summary(event);
  const hasData = event.data !== null && event.data !== undefined;
  return h('li', { 'data-event-id': String(event.id), 'data-type': event.type },
    h('div', { class: 'event-head' },
      time(event.at),
      h('strong', { class: 'event-type' }, event.type),
      event.actor ? h('span', { class: 'muted' }, `by ${event.actor}`) : null),
    text ? h('p', { class: 'event-summary' }, text) : null,
    hasData ? h('details', {}, h('summary', {}, 'Data'), jsonBlock(event.data)) : null);
}
