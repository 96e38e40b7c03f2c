// What the student page and the dashboard share about their WebSocket: where it is, when a close is final,
// and how to wait before trying again. One copy, so both pages treat the server's close codes and back off the
// same way (docs/protocol.md, "Connecting").
import { CLOSE_CODES, REFUSAL_CLOSE_CODES } from "./definitions.js";

const FIRST_RETRY_MS = 1000;
const LONGEST_RETRY_MS = 15000;
// A socket counts as working again only after this long open (or its first real answer): a server that
// accepts and then fails at once must not reset the backoff, or a whole class would retry every second.
export const STABLE_AFTER_MS = 5000;
// A page that has heard nothing for HEARTBEAT_MS asks with a ping; a socket that leaves what a page sent unanswered
// for SILENT_AFTER_MS is taken for dead (docs/protocol.md, 4408 "silent").
export const HEARTBEAT_MS = 5000;
export const SILENT_AFTER_MS = 10000;

// What each page says about a lost connection, by the reason LiveSocket gives (the server's, when it said why before
// closing); retried with the backoff either way.
const LOST_WORDS = {
  lost: "Connection lost",
  silent: "The server stopped answering",
  server_restarting: "The server is restarting",
  unavailable: "The server cannot reach its database just now",
};
export const lostWords = (reason) => LOST_WORDS[reason?.code] ?? LOST_WORDS.lost;

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

// One page's socket to its class: connects, hands the server's JSON messages on, and decides what a close means.
// - A close with a refusal code (4401, 4403, 4404, 4409: the person has to do something first) is final:
//   `onRefused(reason)`, and no retry.
// - Any other close (4503 "unavailable" or "server_restarting", a dropped network, a crash) is retried with the
//   backoff: `onLost(reason)`, then `onCountdown(seconds, attempt, reason)` every second until the next try.
// - A socket that answers nothing for SILENT_AFTER_MS after the page sent something counts as lost too, with the
//   reason {code: "silent"}: a connection can die with no close at all (Wi-Fi roaming, a NAT that forgot it, a
//   laptop that slept), and the browser may take many minutes to notice. A page with nothing to send (a
//   dashboard, a paused student) sends a ping after HEARTBEAT_MS without a message either way, so that the watch
//   runs on every page.
// `onConnecting` runs at each attempt, `onOpen` when the socket opens and `onProved` once it has shown it works.
// `reason` is the server's error message that announced the close ({code, message}; an error that carries no
// `frame` is about the socket, not one frame), or {code: "close_<code>"} when none came.
export class LiveSocket {
  constructor({ path, onConnecting = () => {}, onOpen = () => {}, onMessage = () => {}, onLost = () => {},
                onRefused = () => {}, onCountdown = () => {}, onProved = () => {} }) {
    Object.assign(this, { path, onConnecting, onOpen, onMessage, onLost, onRefused, onProved });
    this.socket = null;
    this.silenceTimer = null; // runs from the first message sent since the server's last one
    this.heartbeatTimer = null; // runs from the last message either way
    this.closing = null; // the error that announced the coming close
    this.stable = false;
    this.stableTimer = null;
    this.stopped = false;
    this.reconnector = new Reconnector({
      connect: () => this.connect(),
      onCountdown: (seconds, attempt) => onCountdown(seconds, attempt, this.lastReason),
    });
    this.lastReason = null;
  }

  get isOpen() {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  get bufferedAmount() {
    return this.socket?.bufferedAmount ?? 0;
  }

  connect() {
    this.reconnector.cancel();
    clearTimeout(this.stableTimer);
    this.stopSilenceWatch();
    this.stopHeartbeat();
    this.stopped = false;
    const socket = new WebSocket(socketUrl(this.path));
    this.socket = socket;
    this.closing = null;
    this.stable = false;
    this.onConnecting();
    socket.addEventListener("open", () => {
      if (socket !== this.socket) return;
      // The server accepts before it can fail (a refusal, or 1011 with its channel layer down): the backoff
      // is reset only by a real answer (proved()), or by the socket staying open a while with nothing unanswered.
      this.stableTimer = setTimeout(() => this.provedByTime(), STABLE_AFTER_MS);
      this.restartHeartbeat();
      this.onOpen();
    });
    socket.addEventListener("message", (event) => {
      if (socket === this.socket) this.received(event.data);
    });
    socket.addEventListener("close", (event) => {
      if (socket === this.socket) this.closed(event.code);
    });
  }

  received(data) {
    this.stopSilenceWatch();
    this.restartHeartbeat();
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message?.type === "pong") return; // its arrival was all it had to say
    if (message?.type === "error" && !("frame" in message)) {
      this.closing = message; // the close that follows decides what it means
      return;
    }
    this.onMessage(message);
  }

  closed(code) {
    clearTimeout(this.stableTimer);
    this.stopSilenceWatch();
    this.stopHeartbeat();
    this.socket = null;
    if (this.stopped) return;
    // A retry that fails silently (the server still down) keeps the reason of the loss it is retrying, so the page
    // goes on saying "the server is restarting" rather than a bare "connection lost".
    const retrying = this.lastReason && !this.stable && !REFUSAL_CLOSE_CODES.has(code);
    const reason = this.closing ?? (retrying ? this.lastReason : { code: `close_${code}`, message: "" });
    this.lastReason = reason;
    if (REFUSAL_CLOSE_CODES.has(code)) {
      this.stopped = true;
      this.onRefused(reason, code);
      return;
    }
    this.onLost(reason, code);
    this.reconnector.schedule();
  }

  // Open for STABLE_AFTER_MS: that proves it, unless what the page sent is still unanswered (a server that accepts
  // and then answers nothing must not reset the backoff every time the silence watch drops it).
  provedByTime() {
    if (this.silenceTimer === null) this.proved();
  }

  // The open socket works (a real answer came, or it stayed open): the next loss starts the backoff afresh.
  proved() {
    clearTimeout(this.stableTimer);
    if (this.stable || !this.isOpen) return;
    this.stable = true;
    this.lastReason = null;
    this.reconnector.succeeded();
    this.onProved();
  }

  send(data) {
    if (!this.isOpen) return false;
    this.socket.send(data);
    this.restartHeartbeat();
    if (this.silenceTimer === null) {
      this.silenceTimer = setTimeout(() => this.gaveUpOnSilence(), SILENT_AFTER_MS);
    }
    return true;
  }

  stopSilenceWatch() {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = null;
  }

  restartHeartbeat() {
    this.stopHeartbeat();
    this.heartbeatTimer = setTimeout(() => this.sendJson({ type: "ping" }), HEARTBEAT_MS);
  }

  stopHeartbeat() {
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  // No answer for SILENT_AFTER_MS: lost, as if it had closed. The socket is let go first, so its own close, whenever
  // the browser gets to it, changes nothing.
  gaveUpOnSilence() {
    const socket = this.socket;
    this.closing = { code: "silent", message: "" };
    this.closed(CLOSE_CODES.silent);
    socket?.close(CLOSE_CODES.silent);
  }

  sendJson(message) {
    return this.send(JSON.stringify(message));
  }

  // No more of this socket: closed quietly (leaving the page, or a refusal the page decided on), no retry.
  stop(code = 1000) {
    this.stopped = true;
    this.reconnector.cancel();
    clearTimeout(this.stableTimer);
    this.stopSilenceWatch();
    this.stopHeartbeat();
    const socket = this.socket;
    this.socket = null;
    socket?.close(code);
  }
}
