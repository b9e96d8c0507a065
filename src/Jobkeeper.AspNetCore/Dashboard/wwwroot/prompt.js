// The open question of a waiting job and the form to answer it: one button per option; otherwise free text,
// or JSON when the prompt's schema asks for more than a string. An optional reason goes with the answer.

import { api } from './api.js';
import { h, time, jsonBlock } from './dom.js';

/** True when answers must be JSON: a schema that is not just `{"type":"string", …}`. */
export function needsJson(prompt) {
  const schema = prompt.schema;
  if (schema === null || schema === undefined || typeof schema !== 'object') return false;
  return schema.type !== 'string';
}

/** Identifies one asked question, so the form is rebuilt only when a different one is open. */
export function promptIdentity(prompt) {
  return prompt ? `${prompt.key}\u0000${prompt.asked_at}` : '';
}

/**
 * The form for `prompt` of job `jobId`. `onAnswered(job)` gets the job the server returned. Several forms share a page
 * (the inbox) when each has its own `prefix` for its element ids; `heading` replaces the section's title.
 */
export function promptForm(jobId, prompt, onAnswered, { prefix = '', heading = 'Waiting for an answer' } = {}) {
  const id = (name) => `${prefix}${name}`;
  const error = h('p', { class: 'error', role: 'alert' });
  const reason = h('input', { type: 'text', id: id('answer-reason'), name: 'reason', maxlength: '2000', autocomplete: 'off' });
  const confidence = h('input', {
    type: 'number', id: id('answer-confidence'), name: 'confidence', min: '0', max: '1', step: '0.05', inputmode: 'decimal', class: 'confidence',
  });
  const controls = [reason, confidence];
  let busy = false;

  async function send(answer) {
    if (busy) return;
    busy = true;
    error.textContent = '';
    controls.forEach((c) => { c.disabled = true; });
    try {
      const sure = confidence.value === '' ? undefined : Number(confidence.value);
      onAnswered(await api.answer(jobId, prompt.key, answer, reason.value.trim(), sure));
    } catch (e) {
      const why = e.problem?.why && !e.message.includes(e.problem.why) ? ` ${e.problem.why}` : '';
      error.textContent = e.message + why;
      controls.forEach((c) => { c.disabled = false; });
    } finally {
      busy = false;
    }
  }

  const meta = h('p', { class: 'muted small' },
    'Asked ', time(prompt.asked_at),
    prompt.asked_by ? [' by ', prompt.asked_by] : null,
    prompt.expires_at ? [' · expires ', time(prompt.expires_at), prompt.on_expiry ? ` (then: ${prompt.on_expiry})` : null] : null);

  let body;
  if (Array.isArray(prompt.options) && prompt.options.length) {
    const buttons = prompt.options.map((option) => h('button', { type: 'button', class: 'option', onclick: () => send(option) }, option));
    controls.push(...buttons);
    body = h('div', { class: 'options', role: 'group', 'aria-label': 'Answers' }, buttons);
  } else if (needsJson(prompt)) {
    const area = h('textarea', { id: id('answer-json'), name: 'answer', rows: '6', spellcheck: 'false', required: true, 'aria-describedby': id('answer-schema') });
    const submit = h('button', { type: 'submit' }, 'Send answer');
    controls.push(area, submit);
    body = h('form', {
      class: 'answer', onsubmit: (e) => {
        e.preventDefault();
        let value;
        try {
          value = JSON.parse(area.value);
        } catch (parseError) {
          error.textContent = `The answer is not valid JSON: ${parseError.message}`;
          area.focus();
          return;
        }
        send(value);
      },
    },
    h('label', { for: id('answer-json') }, 'Answer (JSON)'),
    area,
    h('details', { id: id('answer-schema') }, h('summary', {}, 'Expected schema'), jsonBlock(prompt.schema)),
    h('div', { class: 'buttons' }, submit));
  } else {
    const input = h('input', { type: 'text', id: id('answer-text'), name: 'answer', required: true, autocomplete: 'off' });
    const submit = h('button', { type: 'submit' }, 'Send answer');
    controls.push(input, submit);
    body = h('form', { class: 'answer', onsubmit: (e) => { e.preventDefault(); send(input.value); } },
      h('label', { for: id('answer-text') }, 'Answer'),
      h('div', { class: 'inline' }, input, submit));
  }

  return h('section', { class: 'card prompt', 'aria-labelledby': id('prompt-heading'), 'data-job': jobId },
    h('h2', { id: id('prompt-heading') }, heading),
    h('p', { class: 'question' }, prompt.question),
    meta,
    h('p', { class: 'answer-reason' },
      h('label', { for: id('answer-reason') }, 'Reason (optional)'), reason,
      h('label', { for: id('answer-confidence') }, 'Confidence 0–1 (optional)'), confidence),
    body,
    error);
}
