// What the student page and the dashboard share about their WebSocket: where it is, when a close is final,
// and how long to wait before trying again. One copy, so both pages back off the same way.

// The server's refusals (docs/protocol.md): retrying cannot help, the person has to do something.
export const REFUSAL_CLOSE_CODES = new Set([4401, 4403, 4404]);

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
