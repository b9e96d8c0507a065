// The API key, when the server asks for one (401). It is kept only in this tab's sessionStorage: gone when the
// tab closes, never in a cookie or localStorage. Saving it reloads the page so every request and stream uses it.

const storageKey = 'jobkeeper.apiKey';

export function currentKey() {
  return sessionStorage.getItem(storageKey);
}

let dialog = null;

/** Shows the key form (once; later calls only update the message). `rejected`: a key was sent and refused. */
export function askForKey(rejected) {
  if (!dialog) dialog = createDialog();
  dialog.querySelector('.key-message').textContent = rejected
    ? 'The server did not accept the API key. Enter another one.'
    : 'This server needs an API key. Enter one to continue.';
  if (!dialog.open) dialog.showModal();
  dialog.querySelector('input').focus();
}

function createDialog() {
  const element = document.createElement('dialog');
  element.className = 'key-dialog';
  element.setAttribute('aria-labelledby', 'key-title');
  element.innerHTML = `
    <form method="dialog" class="key-form">
      <h2 id="key-title">API key</h2>
      <p class="key-message"></p>
      <label for="key-input">Key</label>
      <input id="key-input" name="key" type="password" autocomplete="off" spellcheck="false" required>
      <p class="key-note">Kept only in this browser tab's session storage.</p>
      <div class="key-actions">
        <button type="submit" class="primary">Use key</button>
        <button type="button" class="key-forget">Forget key</button>
      </div>
    </form>`;
  element.querySelector('form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = element.querySelector('input').value.trim();
    if (!value) return;
    sessionStorage.setItem(storageKey, value);
    location.reload();
  });
  element.querySelector('.key-forget').addEventListener('click', () => {
    sessionStorage.removeItem(storageKey);
    element.querySelector('input').value = '';
  });
  document.body.append(element);
  return element;
}
