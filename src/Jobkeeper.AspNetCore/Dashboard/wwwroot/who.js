// Who is using the dashboard: the name a person gives (kept in this browser's localStorage, never sent anywhere but
// in the X-Actor header of their changes). Behind API keys the server records the key's name as the actor and this
// name beside it, so it identifies the person without letting them pass for another key.

const storageKey = 'jobkeeper.actor';

/** The name to send as X-Actor: the one given, else "dashboard". */
export function actorName() {
  return localStorage.getItem(storageKey) || 'dashboard';
}

/** Keeps `input` (the header's "Your name" field) and the stored name in step. Nothing is stored until a name is typed. */
export function bindNameField(input) {
  input.value = localStorage.getItem(storageKey) ?? '';
  input.addEventListener('change', () => {
    const name = input.value.trim();
    input.value = name;
    if (name) localStorage.setItem(storageKey, name);
    else localStorage.removeItem(storageKey);
  });
}
