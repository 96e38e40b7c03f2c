// The teacher socket (docs/protocol.md, "Server → teacher"): connect, hand each event on, and come back after
// a loss, a server restart or a connection gone silent, with the backoff and words the student page uses too
// (live-socket.js).
import { element, setText } from "../dom.js";
import { CLOSE_CODES } from "../definitions.js";
import { LiveSocket, lostWords } from "../live-socket.js";
import { icon } from "../states.js";
import { config } from "./config.js";
import { link } from "./roster.js";

const REFUSAL_MESSAGES = {
  [CLOSE_CODES.not_authenticated]: "Log in again to watch this class.",
  [CLOSE_CODES.forbidden]: "Only this class's teacher can watch it.",
  [CLOSE_CODES.not_found]: "No class has this join code.",
};
const CONNECTION_ICONS = { connecting: "refresh-cw", open: "wifi", reconnecting: "wifi-off", refused: "ban" };
const reconnectingText = (reason) => `${lostWords(reason)}; cards show the last known state. Reconnecting`;

const box = document.getElementById("connection");
const cards = document.getElementById("cards");
let onEvent = () => {};

// #connection is a live region: its words change only when the status does (one announcement per change),
// and `countdown`, the only thing that changes between retries, is hidden from screen readers. `extra` (a
// link) goes after the words.
function setConnection(status, text, countdown = "", extra = []) {
  if (box.dataset.status !== status) {
    box.dataset.status = status;
    const ticking = element("span", "connection-countdown");
    ticking.setAttribute("aria-hidden", "true");
    box.replaceChildren(icon(CONNECTION_ICONS[status]), element("span", "connection-text", text), ticking, ...extra);
  } else {
    setText(box.querySelector(".connection-text"), text);
  }
  setText(box.querySelector(".connection-countdown"), countdown);
  cards.classList.toggle("is-stale", status !== "open");
}

const socket = new LiveSocket({
  path: config.wsPath,
  // Retries stay "reconnecting": flipping to "connecting" and back would be two announcements per attempt.
  onConnecting: () => {
    if (box.dataset.status === "reconnecting") {
      setConnection("reconnecting", reconnectingText(socket.lastReason), " now…");
    } else {
      setConnection("connecting", "Connecting…");
    }
  },
  onMessage: (event) => onEvent(event),
  onLost: () => {
    link.live = false;
  },
  onCountdown: (seconds, attempt, reason) => {
    setConnection("reconnecting", reconnectingText(reason), ` in ${seconds} s…`);
  },
  onRefused: (reason, code) => {
    link.live = false;
    const needsLogin = code === CLOSE_CODES.not_authenticated;
    refuse(reason.message || REFUSAL_MESSAGES[code], needsLogin);
  },
});

function loginLink() {
  const url = new URL(box.dataset.loginUrl || "/accounts/login/", location.href);
  url.searchParams.set("next", location.pathname);
  const anchor = element("a", "connection-login", "Log in");
  anchor.href = url.href;
  return anchor;
}

function refuse(message, needsLogin = false) {
  const extra = needsLogin ? [document.createTextNode(" "), loginLink()] : [];
  setConnection("refused", `Not connected: ${message || "the server refused this page."}`, "", extra);
}

// A snapshot proves the socket works: the next loss starts the backoff afresh.
export function connectionLive() {
  socket.proved();
  link.live = true;
  setConnection("open", "Live");
}

export function openConnection(handler) {
  onEvent = handler;
  socket.connect();
}
