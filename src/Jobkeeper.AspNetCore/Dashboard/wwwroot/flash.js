// A one-time message carried across a navigation (e.g. "Deleted job x." shown on the list after a delete).
let message = null;

export function setFlash(text) {
  message = text;
}

export function takeFlash() {
  const text = message;
  message = null;
  return text;
}
