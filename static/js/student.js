// The student's class page: camera -> JPEG frames over the class WebSocket -> feedback shown as it arrives.
// The contract with the server is docs/protocol.md.
import { CLOSE_CODES } from "./definitions.js";
import { capitalise, setText } from "./dom.js";
import { REFUSAL_CLOSE_CODES, Reconnector, STABLE_AFTER_MS, socketUrl } from "./live-socket.js";
import { STATES, icon, stateBadge } from "./states.js";

const config = JSON.parse(document.getElementById("student-config").textContent);

const byId = (id) => document.getElementById(id);
const ui = {
  start: byId("start-camera"),
  pause: byId("pause"),
  resume: byId("resume"),
  togglePreview: byId("toggle-preview"),
  preview: byId("preview"),
  previewFrame: byId("preview-frame"),
  previewText: byId("preview-placeholder-text"),
  state: byId("state"),
  stateHelp: byId("state-help"),
  engagement: byId("engagement"),
  engagementMeter: byId("engagement-meter"),
  blinks: byId("blinks"),
  blinkRate: byId("blink-rate"),
  reasons: byId("reasons"),
  tip: byId("tip"),
  connection: byId("connection"),
  connectionIcon: byId("connection-icon"),
  cameraMessage: byId("camera-message"),
  frameNote: byId("frame-note"),
  announcer: byId("announcer"),
  announceToggle: byId("announce-toggle"),
  withdrawForm: byId("withdraw-form"),
};

const MIN_FRAME_GAP_MS = 1000 / Math.max(1, Number(config.maxFps) || 10);
// Feedback normally comes back well within this; after it, a frame or its answer was lost, so send anyway.
const ANSWER_TIMEOUT_MS = 2000;
// A few frames' worth: more waiting in the socket means the network is not keeping up, so skip a frame.
const MAX_BUFFERED_BYTES = 256 * 1024;
// The `code` of the server's error messages that refuse the class (the socket closes after them), as
// opposed to a single frame the server could not read. Close codes are live-socket.js's REFUSAL_CLOSE_CODES.
const REFUSAL_CODES = new Set(["not_authenticated", "forbidden", "not_found", "consent_required", "replaced"]);
// Error messages that announce a close the page retries after (docs/protocol.md, 4503): not about a frame.
const RETRY_CODES = new Set(["unavailable", "server_restarting"]);
// One unreadable frame is noise (a camera hiccup); a run of them is worth a quiet note.
const FRAME_ERRORS_BEFORE_NOTE = 5;
// Announcements (connection news) follow each other at most this often; a screen reader user hears the newest.
const ANNOUNCE_GAP_MS = 1500;
// States can flip every second or two; only one that has held this long is spoken, or speech would never stop.
const STATE_SETTLE_MS = 3000;
const PREVIEW_STORAGE_KEY = "smartsession.preview";
const ANNOUNCE_STORAGE_KEY = "smartsession.announceState";
const CONSENT_RELOAD_KEY = "smartsession.consentReload";

// Words for the states that are not the tracker's, from the student's side.
const STATE_HELP = {
  waiting: () => (page.camera === "on" ? "Waiting for the first feedback…" : "Start your camera to see your feedback here."),
  paused: () => "Your camera is off and nothing is sent. Your teacher sees that you paused.",
  offline: () => (page.connection === "refused" ? "" : "Not connected to the class. Feedback comes back with the connection."),
};

// The server names the quality problem in `reasons`; each becomes something the student can do about it.
const QUALITY_TIPS = [
  [/dark/i, "The room looks dark — turn on a light or face a window."],
  [/too small|closer/i, "Your face looks small — move closer to the camera."],
  [/turned too far/i, "Turn your face towards the camera so your eyes can be seen."],
];

const page = {
  camera: "off", // off | starting | on | paused
  stream: null,
  socket: null,
  connection: "idle", // idle | connecting | open | lost | refused
  refusal: null,
  stableTimer: null,
  stable: false, // the open socket has answered, or stayed open STABLE_AFTER_MS
  wasLost: false,
  sendTimer: null,
  lastSentAt: -Infinity,
  awaitingAnswer: false,
  capturing: false,
  frames: 0,
  frameErrors: 0,
  frameErrorsInRow: 0,
  shownState: "waiting",
  stateReasons: [],
  helpText: null,
  reasonsKey: "",
  announceStates: true,
  announcedState: null, // the last state spoken: never the same twice in a row
  stateAnnounceTimer: null,
  leaving: false,
};

const canvas = document.createElement("canvas");

// ---- Camera ---------------------------------------------------------------------------------------------

async function openCamera() {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw Object.assign(new Error("no mediaDevices"), { name: "InsecureContext" });
  }
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 } }, audio: false });
  for (const track of stream.getVideoTracks()) track.addEventListener("ended", onCameraEnded);
  page.stream = stream;
  ui.preview.srcObject = stream;
  // autoplay covers it; play() may still reject when interrupted, and the next frame is simply not ready yet.
  await ui.preview.play().catch(() => {});
}

function closeCamera() {
  if (page.stream) {
    for (const track of page.stream.getTracks()) {
      track.removeEventListener("ended", onCameraEnded);
      track.stop();
    }
  }
  page.stream = null;
  ui.preview.srcObject = null;
}

function cameraProblem(error, button) {
  switch (error?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "The camera is blocked for this page. Allow it in the browser's site settings (the camera or "
        + `padlock icon in the address bar), then press ${button} again.`;
    case "NotFoundError":
    case "OverconstrainedError":
      return `No camera was found. Plug one in or switch it on, then press ${button} again.`;
    case "NotReadableError":
    case "AbortError":
      return "The camera is in use by another app (a video call, perhaps). Close that app or tab, "
        + `then press ${button} again.`;
    case "InsecureContext":
      return "The browser only allows the camera on a secure page. Open this page through https:// "
        + "(or http://localhost on this computer).";
    default:
      return `The camera could not start (${error?.message || error}). Press ${button} to try again.`;
  }
}

function showCameraMessage(text) {
  ui.cameraMessage.replaceChildren();
  if (text) ui.cameraMessage.append(icon("triangle-alert"), document.createTextNode(text));
}

// Shows the buttons that fit `mode`, keeping keyboard focus on whichever replaces the one that was pressed.
function setCamera(mode) {
  page.camera = mode;
  document.body.dataset.camera = mode;
  ui.previewFrame.dataset.camera = mode;
  const buttons = [ui.start, ui.pause, ui.resume];
  const focused = buttons.find((button) => button === document.activeElement);
  ui.start.hidden = mode === "on" || mode === "paused";
  ui.start.disabled = page.connection === "refused";
  ui.pause.hidden = mode !== "on";
  ui.resume.hidden = mode !== "paused";
  if (focused && (focused.hidden || focused.disabled)) {
    const next = buttons.find((button) => !button.hidden && !button.disabled);
    // Refused: Start camera is disabled, so focus goes to the message that says why rather than to <body>.
    (next ?? ui.connection).focus();
  }
  updatePreviewText();
}

async function startCamera() {
  if (page.camera !== "off") return; // a second click while the browser still asks for permission
  showCameraMessage("");
  setCamera("starting");
  try {
    await openCamera();
  } catch (error) {
    setCamera("off");
    showCameraMessage(cameraProblem(error, "Start camera"));
    return;
  }
  if (page.camera !== "starting" || page.leaving) {
    closeCamera(); // refused or left while the browser was asking
    return;
  }
  setCamera("on");
  showState("waiting");
  if (page.connection === "idle") connect();
  else scheduleFrame();
}

function pause() {
  if (page.camera !== "on") return;
  setCamera("paused");
  closeCamera();
  clearTimeout(page.sendTimer);
  sendJson({ type: "pause" });
  showState("paused");
  clearFeedbackHints();
}

let resuming = false;

async function resume() {
  if (page.camera !== "paused" || resuming) return;
  showCameraMessage("");
  resuming = true;
  try {
    await openCamera();
  } catch (error) {
    showCameraMessage(cameraProblem(error, "Resume"));
    return;
  } finally {
    resuming = false;
  }
  if (page.camera !== "paused" || page.leaving) {
    closeCamera(); // refused or left while the browser was asking
    return;
  }
  setCamera("on");
  showState("waiting");
  sendJson({ type: "resume" });
  page.awaitingAnswer = false;
  scheduleFrame();
}

// The camera was unplugged, or the browser or another app took it away.
function onCameraEnded() {
  closeCamera();
  clearTimeout(page.sendTimer);
  setCamera("off");
  showState("waiting");
  clearFeedbackHints();
  showCameraMessage("The camera stopped: it was unplugged, or another app took it. Press Start camera to try again.");
}

function setPreviewShown(shown) {
  ui.togglePreview.setAttribute("aria-pressed", String(shown));
  ui.togglePreview.querySelector("use")?.setAttribute("href", shown ? "#icon-eye" : "#icon-eye-off");
  ui.previewFrame.classList.toggle("preview-hidden", !shown);
  updatePreviewText();
  try {
    localStorage.setItem(PREVIEW_STORAGE_KEY, shown ? "shown" : "hidden");
  } catch {
    // Storage can be off (private modes); the choice then lasts for this page only.
  }
}

function updatePreviewText() {
  const hidden = ui.previewFrame.classList.contains("preview-hidden");
  const placeholderIcon = page.camera === "on" && hidden ? "eye-off" : "camera-off";
  ui.previewText.previousElementSibling?.replaceWith(icon(placeholderIcon));
  ui.previewText.textContent = {
    off: "Camera is off",
    starting: "Starting the camera…",
    paused: "Paused: the camera is off",
    on: hidden ? "Your picture is hidden; the camera is on" : "",
  }[page.camera];
}

// ---- Frames ---------------------------------------------------------------------------------------------

function canSend() {
  return page.camera === "on" && page.stream !== null && !page.leaving
    && page.socket?.readyState === WebSocket.OPEN;
}

// The next frame goes out when the last one is answered, but never sooner than the frame-rate cap allows;
// an answer that does not come within ANSWER_TIMEOUT_MS is given up on (the server keeps only the newest frame).
function scheduleFrame() {
  clearTimeout(page.sendTimer);
  if (!canSend()) return;
  const gap = page.awaitingAnswer ? Math.max(ANSWER_TIMEOUT_MS, MIN_FRAME_GAP_MS) : MIN_FRAME_GAP_MS;
  const wait = Math.max(0, page.lastSentAt + gap - performance.now());
  page.sendTimer = setTimeout(sendFrame, wait);
}

async function sendFrame() {
  if (!canSend() || page.capturing) return;
  const socket = page.socket;
  const video = ui.preview;
  if (socket.bufferedAmount > MAX_BUFFERED_BYTES || video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA
      || !video.videoWidth) {
    page.sendTimer = setTimeout(sendFrame, MIN_FRAME_GAP_MS);
    return;
  }
  page.capturing = true;
  page.lastSentAt = performance.now();
  try {
    const blob = await captureJpeg(video);
    if (blob && canSend() && socket === page.socket) {
      socket.send(blob);
      page.awaitingAnswer = true;
    }
  } finally {
    page.capturing = false;
  }
  scheduleFrame();
}

function captureJpeg(video) {
  // Never wider than the camera gives: enlarging adds bytes, not detail.
  const width = Math.min(Number(config.frameWidth) || 640, video.videoWidth);
  const height = Math.round((video.videoHeight * width) / video.videoWidth);
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  canvas.getContext("2d").drawImage(video, 0, 0, width, height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", Number(config.jpegQuality) || 0.7));
}

function answered() {
  page.awaitingAnswer = false;
  scheduleFrame();
}

// ---- Connection -----------------------------------------------------------------------------------------

const CONNECTION_ICONS = { idle: "wifi-off", connecting: "hourglass", open: "wifi", lost: "wifi-off", refused: "ban" };

function setConnection(status, ...content) {
  page.connection = status;
  document.body.dataset.connection = status;
  ui.connection.parentElement.dataset.status = status;
  ui.connectionIcon.replaceChildren(icon(CONNECTION_ICONS[status]));
  ui.connection.replaceChildren(...content);
}

function connect() {
  reconnector.cancel();
  clearTimeout(page.stableTimer);
  if (page.leaving) return;
  const socket = new WebSocket(socketUrl(config.wsPath));
  page.socket = socket;
  page.refusal = null;
  page.stable = false;
  setConnection("connecting", "Connecting…");
  socket.addEventListener("open", () => {
    if (socket !== page.socket) return;
    setConnection("open", "Connected");
    // The server accepts before it can fail (a refusal, or 1011 with its channel layer down): the backoff
    // and the "lost" state are reset only by a real answer, or by the socket staying open a while.
    page.stableTimer = setTimeout(connectionProved, STABLE_AFTER_MS);
    if (page.camera === "paused") {
      sendJson({ type: "pause" });
    } else if (page.camera === "on") {
      showState("waiting");
      page.awaitingAnswer = false;
      scheduleFrame();
    }
  });
  socket.addEventListener("message", (event) => {
    if (socket === page.socket) onMessage(event.data);
  });
  socket.addEventListener("close", (event) => {
    if (socket === page.socket) onClose(event);
  });
}

// The open socket works: the next loss starts the backoff from the beginning, and is announced again.
function connectionProved() {
  clearTimeout(page.stableTimer);
  if (page.stable || page.socket?.readyState !== WebSocket.OPEN) return;
  page.stable = true;
  reconnector.succeeded();
  if (page.wasLost) announce("Connected to the class again.");
  page.wasLost = false;
}

function sendJson(message) {
  if (page.socket?.readyState === WebSocket.OPEN) page.socket.send(JSON.stringify(message));
}

function onClose(event) {
  clearTimeout(page.sendTimer);
  clearTimeout(page.stableTimer);
  page.awaitingAnswer = false;
  if (page.leaving) return;
  if (page.refusal || REFUSAL_CLOSE_CODES.has(event.code)) {
    refused(page.refusal ?? { code: `close_${event.code}`, message: "The class refused the connection." });
    return;
  }
  if (page.camera === "on") showState("offline");
  clearFeedbackHints();
  if (!page.wasLost) announce("Connection lost. Reconnecting…");
  page.wasLost = true;
  scheduleReconnect();
}

// Backoff with jitter, shared with the dashboard (live-socket.js).
const reconnector = new Reconnector({
  connect,
  onCountdown: (seconds, attempt) => {
    setConnection("lost", `Connection lost — reconnecting in ${seconds} s (attempt ${attempt})`);
  },
});

function scheduleReconnect() {
  reconnector.schedule();
}

// The server said no (not logged in, not a member, no such class, no consent): trying again would not help.
function refused({ code, message }) {
  page.socket = null;
  reconnector.cancel();
  clearTimeout(page.stableTimer);
  closeCamera();
  setConnection("refused", message);
  showState("offline");
  clearFeedbackHints();
  // The page itself shows the consent step; reload once, and not in a loop if something is off.
  const reloading = code === "consent_required" && reloadOnce();
  if (code === "consent_required" && !reloading) {
    ui.connection.append(" ", link(location.pathname, "Reload the page"));
  } else if (code === "not_authenticated" || code === `close_${CLOSE_CODES.not_authenticated}`) {
    const loginUrl = new URL(config.loginUrl, location.href);
    if (!loginUrl.searchParams.has("next")) loginUrl.searchParams.set("next", location.pathname);
    ui.connection.append(" ", link(loginUrl.href, "Log in"));
  }
  // After the message is complete: if the focused Pause or Resume goes away, focus lands on the message.
  setCamera("off");
  if (reloading) return;
  // Focus on the message reads it out; announcing it as well would say it twice.
  if (document.activeElement !== ui.connection) announce(message);
}

function reloadOnce() {
  try {
    const last = Number(sessionStorage.getItem(CONSENT_RELOAD_KEY) || 0);
    if (Date.now() - last < 10000) return false;
    sessionStorage.setItem(CONSENT_RELOAD_KEY, String(Date.now()));
  } catch {
    return false; // without storage a loop could not be told apart, so let the student reload
  }
  location.reload();
  return true;
}

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

// ---- Messages -------------------------------------------------------------------------------------------

function onMessage(data) {
  let message;
  try {
    message = JSON.parse(data);
  } catch {
    return;
  }
  switch (message.type) {
    case "feedback":
      connectionProved();
      onFeedback(message);
      answered();
      break;
    case "resumed":
      connectionProved();
      break;
    case "error":
      if (REFUSAL_CODES.has(message.code)) {
        page.refusal = message; // the close that follows decides
      } else if (RETRY_CODES.has(message.code)) {
        // The close that follows reconnects with the backoff; nothing was wrong with the picture.
      } else {
        onFrameError(message);
        answered();
      }
      break;
    default:
      // "paused" confirms what the page already shows.
      break;
  }
}

function onFeedback(feedback) {
  page.frames += 1;
  document.body.dataset.frames = String(page.frames);
  page.frameErrorsInRow = 0;
  setText(ui.frameNote, "");
  // A frame that was in flight when the student paused: the page keeps saying "Paused".
  if (page.camera !== "on") return;

  const reasons = Array.isArray(feedback.reasons) ? feedback.reasons.map(String) : [];
  showState(feedback.state, reasons);
  const engagement = Math.round(Number(feedback.engagement) || 0);
  setText(ui.engagement, String(engagement));
  if (ui.engagementMeter.value !== engagement) ui.engagementMeter.value = engagement;
  setText(ui.blinks, String(feedback.blinks ?? 0));
  setText(ui.blinkRate, String(Math.round(Number(feedback.blink_rate_per_min) || 0)));
  showReasons(reasons);
  showTips(tipsFor(feedback));
}

function onFrameError(error) {
  page.frameErrors += 1;
  page.frameErrorsInRow += 1;
  document.body.dataset.frameErrors = String(page.frameErrors);
  console.debug("SmartSession: frame %s refused (%s): %s", error.frame, error.code, error.message);
  if (page.frameErrorsInRow >= FRAME_ERRORS_BEFORE_NOTE) {
    ui.frameNote.textContent = "The server could not read the last few pictures from your camera. "
      + "If this goes on, pause and resume, or reload the page.";
  }
}

// ---- Feedback display -----------------------------------------------------------------------------------

function showState(name, reasons = []) {
  const state = name in STATES ? name : "waiting";
  page.stateReasons = reasons;
  const help = STATE_HELP[state]?.() ?? "";
  if (help !== page.helpText) {
    page.helpText = help;
    ui.stateHelp.textContent = help;
  }
  if (state === page.shownState) return;
  page.shownState = state;
  ui.state.replaceChildren(stateBadge(state));
  scheduleStateAnnouncement(state);
}

function showReasons(reasons) {
  const key = reasons.join("\n");
  if (key === page.reasonsKey) return;
  page.reasonsKey = key;
  ui.reasons.replaceChildren(...reasons.map((reason) => {
    const item = document.createElement("li");
    item.textContent = capitalise(reason);
    return item;
  }));
}

function tipsFor(feedback) {
  if (!feedback.face) return ["Your face is out of view — sit where the camera can see you."];
  const tips = [];
  if (feedback.faces > 1) tips.push("More than one face is in view — make sure only you are in the picture.");
  if (feedback.confidence === "uncertain") {
    const reasons = feedback.reasons ?? [];
    const matched = QUALITY_TIPS.filter(([pattern]) => reasons.some((reason) => pattern.test(reason)));
    tips.push(...(matched.length
      ? matched.map(([, tip]) => tip)
      : ["The camera cannot read your face well — check the light and sit facing the camera."]));
  }
  return tips;
}

// Hints about the picture mean nothing once the camera is off.
function clearFeedbackHints() {
  showTips([]);
  showReasons([]);
}

function showTips(tips) {
  if (ui.tip.textContent === tips.join(" ")) return;
  ui.tip.replaceChildren();
  if (tips.length) ui.tip.append(icon("lightbulb"), document.createTextNode(tips.join(" ")));
}

// ---- Announcements --------------------------------------------------------------------------------------

let pendingAnnouncement = null; // { text, aboutState }
let announceTimer = null;
let lastAnnouncedAt = -Infinity;

function announce(text, aboutState = false) {
  pendingAnnouncement = { text, aboutState };
  const wait = lastAnnouncedAt + ANNOUNCE_GAP_MS - performance.now();
  if (wait <= 0) flushAnnouncement();
  else announceTimer ??= setTimeout(flushAnnouncement, wait);
}

function flushAnnouncement() {
  announceTimer = null;
  if (pendingAnnouncement === null) return;
  const { text, aboutState } = pendingAnnouncement;
  pendingAnnouncement = null;
  if (aboutState && !page.announceStates) return; // turned off while it waited
  ui.announcer.textContent = text;
  lastAnnouncedAt = performance.now();
}

// A state is spoken once it has held STATE_SETTLE_MS, and not if it is the one spoken last: a student whose
// state flips between focused and distracted hears nothing until one of them sticks.
function scheduleStateAnnouncement(state) {
  clearTimeout(page.stateAnnounceTimer);
  page.stateAnnounceTimer = null;
  // Waiting and not connected are passing states; the connection line speaks for them.
  if (!page.announceStates || state === "waiting" || state === "offline" || state === page.announcedState) return;
  page.stateAnnounceTimer = setTimeout(() => {
    page.stateAnnounceTimer = null;
    if (!page.announceStates || page.shownState !== state) return;
    page.announcedState = state;
    const reasons = page.stateReasons;
    const why = reasons.length ? ` ${capitalise(reasons[0])}.` : "";
    announce(`Your state: ${STATES[state].label}.${why}`, true);
  }, STATE_SETTLE_MS);
}

function setAnnounceStates(on) {
  page.announceStates = on;
  ui.announceToggle.checked = on;
  clearTimeout(page.stateAnnounceTimer);
  page.stateAnnounceTimer = null;
  // Turned back on: the state shown now counts as heard; the next change is spoken.
  if (on) page.announcedState = page.shownState;
  try {
    localStorage.setItem(ANNOUNCE_STORAGE_KEY, on ? "on" : "off");
  } catch {
    // Storage can be off (private modes); the choice then lasts for this page only.
  }
}

// ---- Wiring ---------------------------------------------------------------------------------------------

ui.start.addEventListener("click", startCamera);
ui.start.disabled = false; // the template disables it until now
ui.pause.addEventListener("click", pause);
ui.resume.addEventListener("click", resume);
ui.togglePreview.addEventListener("click", () => {
  setPreviewShown(ui.togglePreview.getAttribute("aria-pressed") !== "true");
});
ui.announceToggle.addEventListener("change", () => setAnnounceStates(ui.announceToggle.checked));

// Leaving on purpose: stop the camera and close quietly, so the server's "consent withdrawn" answer does not
// trigger a reload that would cancel the form's own navigation.
function leave() {
  page.leaving = true;
  clearTimeout(page.sendTimer);
  reconnector.cancel();
  clearTimeout(page.stableTimer);
  clearTimeout(page.stateAnnounceTimer);
  closeCamera();
  page.socket?.close(1000);
}
ui.withdrawForm.addEventListener("submit", leave);
window.addEventListener("pagehide", leave);
// Restored from the back/forward cache with the camera and socket gone: start clean.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) location.reload();
});

function storedChoice(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // no storage: the page's defaults
  }
}
setPreviewShown(storedChoice(PREVIEW_STORAGE_KEY) !== "hidden");
setAnnounceStates(storedChoice(ANNOUNCE_STORAGE_KEY) !== "off");
setCamera("off");
setConnection("idle", "Not connected yet. Start your camera to join.");
document.body.dataset.frames = "0";
