// What the student page and the dashboard share about their WebSocket: where it is, when a close is final,
// and how to wait before trying again. One copy, so both pages back off the same way.
// The server's refusals (docs/protocol.md), from the server: retrying cannot help.
export { REFUSAL_CLOSE_CODES } from "./definitions.js";

const FIRST_RETRY_MS = 1000;
const LONGEST_RETRY_MS = 15000;
// A socket counts as working again only after this long open (or its first real answer): a server that
// accepts and then fails at once must not reset the backoff, or a whole class would retry every second.
export const STABLE_AFTER_MS = 5000;

export function socketUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

// 1 s, 2 s, 4 s … up to 15 s for attempt 1, 2, 3 …, each ±20 % so a class that lost the server together
// does not come back in one burst.
export function retryDelayMs(attempt) {
  const backoff = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(backoff * (0.8 + Math.random() * 0.4));
}

// Tries again after a lost connection, with backoff: `connect` when the wait is over, and `onCountdown(seconds,
// attempt)` at once and every second meanwhile, for the page to say so. Coming back online tries at once.
export class Reconnector {
  constructor({ connect, onCountdown }) {
    this.connect = connect;
    this.onCountdown = onCountdown;
    this.attempt = 0; // attempts since the connection last proved stable
    this.timer = null;
    this.ticker = null;
    this.dueAt = null;
    window.addEventListener("online", () => this.now());
  }

  get pending() {
    return this.timer !== null;
  }

  schedule() {
    this.cancel();
    this.attempt += 1;
    const delay = retryDelayMs(this.attempt);
    this.dueAt = performance.now() + delay;
    const tick = () => this.onCountdown(Math.max(1, Math.ceil((this.dueAt - performance.now()) / 1000)), this.attempt);
    tick();
    this.ticker = setInterval(tick, 1000);
    this.timer = setTimeout(() => {
      this.cancel();
      this.connect();
    }, delay);
  }

  // Without waiting any longer, if a retry is due at all.
  now() {
    if (!this.pending) return;
    this.cancel();
    this.connect();
  }

  cancel() {
    clearTimeout(this.timer);
    clearInterval(this.ticker);
    this.timer = null;
    this.ticker = null;
    this.dueAt = null;
  }

  // The connection works: the next loss starts the backoff from the beginning.
  succeeded() {
    this.attempt = 0;
  }
}
