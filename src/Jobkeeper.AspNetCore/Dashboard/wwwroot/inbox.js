// The review inbox: every waiting job's open question with its options and answer form, oldest question first, so a person
// answers one after another without opening each job. After an answer the card goes and the next one takes the focus.
// The answer records the reason and confidence given here, and who answered (the API key's name, the name field beside it).

import { api } from './api.js';
import { h, replaceChildren, time } from './dom.js';
import { promptForm, promptIdentity } from './prompt.js';
import { createRefresher } from './refresher.js';

// A reviewer works through a page of questions at a time; the rest come as those are answered.
const PAGE = 100;

/** The open prompt of a job (the one not answered yet), or null. */
function openPrompt(job) {
  return (job.prompts ?? []).find((p) => !p.answered_at) ?? null;
}

export function createInboxView(main) {
  const heading = h('h1', { tabindex: '-1', id: 'inbox-heading' }, 'Review inbox');
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const error = h('p', { class: 'error', role: 'alert' });
  const cards = h('div', { class: 'inbox' });
  const cardsById = new Map(); // job id → { identity, card }
  replaceChildren(main, h('section', { 'aria-labelledby': 'inbox-heading' }, heading, status, error, cards));
  document.title = 'Inbox · Jobkeeper';

  const lister = createRefresher(
    async () => (await api.listJobs({ statuses: ['waiting'], type: '', queue: '', label: '', limit: PAGE }, null)).items,
    show,
    error);

  function show(jobs) {
    const waiting = jobs
      .map((job) => ({ job, prompt: openPrompt(job) }))
      .filter((w) => w.prompt)
      .sort((a, b) => (a.prompt.asked_at < b.prompt.asked_at ? -1 : a.prompt.asked_at > b.prompt.asked_at ? 1 : 0));
    const wanted = new Set(waiting.map((w) => w.job.id));
    for (const [id, entry] of cardsById) {
      if (!wanted.has(id)) {
        entry.card.remove();
        cardsById.delete(id);
      }
    }
    // Cards keep their place (and what a person is typing) while the list refreshes; new questions join in order.
    let previous = null;
    for (const { job, prompt } of waiting) {
      const identity = promptIdentity(prompt);
      let entry = cardsById.get(job.id);
      if (!entry || entry.identity !== identity) {
        const card = newCard(job, prompt);
        if (entry) entry.card.replaceWith(card);
        entry = { identity, card };
        cardsById.set(job.id, entry);
      }
      const after = previous ? previous.nextSibling : cards.firstChild;
      if (entry.card !== after) cards.insertBefore(entry.card, after);
      previous = entry.card;
    }
    count();
  }

  function count() {
    const n = cardsById.size;
    status.textContent = n === 0 ? 'No job is waiting for an answer.' : `${n} ${n === 1 ? 'question' : 'questions'} waiting, oldest first.`;
  }

  function newCard(job, prompt) {
    const prefix = `inbox-${cardsById.size}-${Math.random().toString(36).slice(2, 8)}-`;
    const form = promptForm(job.id, prompt, () => answered(job.id), { prefix, heading: job.type });
    const link = h('p', { class: 'muted small inbox-job' },
      h('a', { href: `#/jobs/${encodeURIComponent(job.id)}`, class: 'id' }, job.id),
      job.queue && job.queue !== 'default' ? ` · queue ${job.queue}` : null,
      ' · created ', time(job.created_at));
    form.insertBefore(link, form.children[1]);
    return form;
  }

  function answered(id) {
    const entry = cardsById.get(id);
    if (!entry) return;
    const next = entry.card.nextElementSibling ?? entry.card.previousElementSibling;
    entry.card.remove();
    cardsById.delete(id);
    count();
    // The next question takes the focus: its first answer button or field.
    next?.querySelector('button.option, textarea, input[name="answer"], button')?.focus();
  }

  return {
    onEvent(event) {
      if (event.job_status === 'waiting' || cardsById.has(event.job_id)) lister.soon();
    },
    resync: () => lister.refresh(),
    dispose: () => lister.dispose(),
  };
}
