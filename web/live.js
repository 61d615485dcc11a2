// Live updates: the server's change events (GET /events, Server-Sent Events; one `change` event per
// committed import or edit, {"seq", "layer", "action", "id", "bbox"}).
import { withToken } from './auth.js';

const RETRY_MS = 30000;
const RETRY_MAX_MS = 600000;

/// Calls onChange(change) for every change the server announces, and onStatus(connected) when the
/// stream opens or is lost. EventSource reconnects by itself
/// after a dropped connection (sending Last-Event-ID); when the server answers with something that
/// is not an event stream (404 from a server without /events, 401 for a missing token), the browser
/// gives up, and this tries again later, quietly, backing off to 10 minutes.
export function subscribeChanges(onChange, onStatus = () => {}) {
  let delay = RETRY_MS;
  let last = '';
  const connect = () => {
    const source = new EventSource(withToken(last ? `/events?since=${encodeURIComponent(last)}` : '/events'));
    source.addEventListener('open', () => {
      delay = RETRY_MS;
      onStatus(true);
    });
    source.addEventListener('change', (event) => {
      last = event.lastEventId || last;
      onChange(JSON.parse(event.data));
    });
    source.addEventListener('error', () => {
      onStatus(false);
      if (source.readyState !== EventSource.CLOSED) return;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    });
  };
  connect();
}
