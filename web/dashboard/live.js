// Live updates over the WebSocket hub at /ws (same origin, session cookie).
// The server greets with {"type":"hello",...} and then sends events
// {"type","workspaceId","data"}. A lost or refused connection is retried with
// exponential backoff: 1 s doubling up to 30 s, with jitter. Without the hub
// the dashboard works as before, only without live updates.

const BASE_MS = 1000;
const MAX_MS = 30000;

export function backoffDelay(attempt, random = Math.random) {
  const base = Math.min(MAX_MS, BASE_MS * 2 ** attempt);
  // +/- 20% jitter so that many dashboards do not reconnect in step.
  return Math.round(Math.min(MAX_MS, base * (0.8 + 0.4 * random())));
}

// connectLive({onEvent(msg), onState("connecting"|"connected"|"offline")})
// returns {close()}.
export function connectLive({ onEvent, onState }) {
  let ws = null;
  let attempt = 0;
  let timer = null;
  let closed = false;

  function schedule() {
    if (closed) return;
    const delay = backoffDelay(attempt);
    attempt += 1;
    onState("offline", delay);
    timer = setTimeout(open, delay);
  }

  function open() {
    timer = null;
    if (closed) return;
    onState("connecting");
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    try {
      ws = new WebSocket(`${scheme}//${window.location.host}/ws`);
    } catch (err) {
      schedule();
      return;
    }
    ws.addEventListener("open", () => {
      attempt = 0;
      onState("connected");
    });
    ws.addEventListener("message", (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (err) {
        return;
      }
      if (msg && typeof msg.type === "string") onEvent(msg);
    });
    ws.addEventListener("close", () => {
      ws = null;
      schedule();
    });
    // An error is always followed by close, which reconnects.
  }

  open();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (ws) ws.close();
    },
  };
}
