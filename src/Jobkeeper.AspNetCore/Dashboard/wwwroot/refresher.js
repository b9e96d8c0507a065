// What the list pages (queues, schedules) share: their list is loaded again every few seconds (for what sends no live
// event) and soon after live events (at most once a second, however many come), one request at a time (a refresh asked
// for meanwhile runs right after it), its error shown, and nothing drawn once the page is left.

const POLL_MS = 5000;
const EVENT_DELAY_MS = 1000;

export function createRefresher(load, show, error) {
  let disposed = false;
  let inFlight = false;
  let again = false;
  let timer = 0;

  async function refresh() {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    try {
      const result = await load();
      if (disposed) return;
      show(result);
      error.textContent = '';
    } catch (e) {
      if (!disposed) error.textContent = e.message;
    } finally {
      inFlight = false;
      if (again && !disposed) {
        again = false;
        refresh();
      }
    }
  }

  function soon() {
    if (timer || disposed) return;
    timer = setTimeout(() => {
      timer = 0;
      refresh();
    }, EVENT_DELAY_MS);
  }

  const poll = setInterval(refresh, POLL_MS);
  refresh();

  return {
    refresh,
    soon,
    dispose() {
      disposed = true;
      clearInterval(poll);
      clearTimeout(timer);
    },
  };
}
