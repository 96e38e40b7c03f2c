// The student's class page: camera -> frames over the class WebSocket -> feedback shown as it arrives.
// The contract with the server is docs/protocol.md. Each part is a small module in student/; this one holds the
// page's state (camera, connection) and wires them together.
import { LiveSocket, lostWords } from "./live-socket.js";
import { icon } from "./states.js";
import { Announcer } from "./student/announcer.js";
import { Camera, cameraProblem } from "./student/camera.js";
import { config } from "./student/config.js";
import { ConnectionLine, link, reloadOnce } from "./student/connection-line.js";
import { FeedbackView } from "./student/feedback-view.js";
import { FrameSender } from "./student/frame-sender.js";
import { JpegFrames } from "./student/jpeg-frames.js";
import { DeviceAnalysis } from "./student/device-analysis.js";
import { Preview } from "./student/preview.js";

const byId = (id) => document.getElementById(id);
const ui = {
  start: byId("start-camera"),
  pause: byId("pause"),
  resume: byId("resume"),
  connection: byId("connection"),
  connectionIcon: byId("connection-icon"),
  cameraMessage: byId("camera-message"),
  analysisStatus: byId("analysis-status"),
  withdrawForm: byId("withdraw-form"),
};

const unreadableNote = () => `The server could not read the last few ${
  page.analysis === "device" ? "measurements from this page" : "pictures from your camera"}. `
  + "If this goes on, pause and resume, or reload the page.";

const page = {
  camera: "off", // off | starting | on | paused
  connection: "idle", // idle | connecting | open | lost | refused
  // What goes to the server: camera frames, the device's measurements, nothing (yet, or at all).
  analysis: config.analysis.onDevice ? "loading" : "frames", // loading | device | frames | none
  wasLost: false,
  leaving: false,
};

// Waiting for feedback, or offline when there is no connection to bring it.
const awaitFeedback = () => view.state(page.connection === "lost" ? "offline" : "waiting");

// Words for the states that are not the tracker's, from the student's side.
const STATE_HELP = {
  waiting: () => {
    if (page.analysis === "none") return "Nothing is analysed on this page: the note above says why.";
    if (page.camera !== "on") return "Start your camera to see your feedback here.";
    if (camera.muted) return "Your camera gives no picture just now.";
    return page.analysis === "loading" ? "Waiting for the face model to load…" : "Waiting for the first feedback…";
  },
  paused: () => "Your camera is off and nothing is sent. Your teacher sees that you paused.",
  offline: () => (page.connection === "refused" ? "" : "Not connected to the class. Feedback comes back with the connection."),
};

const announcer = new Announcer(byId("announcer"), byId("announce-toggle"));
const connectionLine = new ConnectionLine({ words: ui.connection, iconBox: ui.connectionIcon, loginUrl: config.loginUrl });
const preview = new Preview({
  frame: byId("preview-frame"),
  toggle: byId("toggle-preview"),
  text: byId("preview-placeholder-text"),
});
const view = new FeedbackView({ announcer, help: (state) => STATE_HELP[state]?.() });
const camera = new Camera(byId("preview"), {
  onEnded: onCameraEnded,
  onMuted: onCameraMuted,
  onUnmuted: onCameraUnmuted,
});
const socket = new LiveSocket({
  path: config.wsPath,
  // A retry stays "lost" and keeps saying why, rather than flashing "Connecting…" at every attempt.
  onConnecting: () => {
    if (page.connection === "lost") setConnection("lost", `${lostWords(socket.lastReason)} — reconnecting now…`);
    else setConnection("connecting", "Connecting…");
  },
  onOpen: socketOpened,
  onMessage,
  onLost: socketLost,
  onCountdown: (seconds, attempt, reason) => {
    setConnection("lost", `${lostWords(reason)} — reconnecting in ${seconds} s (attempt ${attempt})`);
  },
  onRefused: refused,
  onProved: () => {
    if (page.wasLost) {
      setConnection("open", "Connected");
      announcer.say("Connected to the class again.");
    }
    page.wasLost = false;
  },
});
const sender = new FrameSender({
  maxFps: config.maxFps,
  camera,
  socket,
  canSend: () => page.camera === "on" && camera.isOpen && !page.leaving && socket.isOpen,
});
const jpegFrames = () => new JpegFrames({ width: config.frameWidth, quality: config.jpegQuality });
const deviceAnalysis = new DeviceAnalysis({
  analysis: config.analysis,
  sender,
  jpegFrames,
  show: setAnalysis,
  isLeaving: () => page.leaving,
  reloadLink: () => link(location.pathname, "Reload the page"),
});

// ---- Camera ---------------------------------------------------------------------------------------------

function showCameraMessage(text) {
  ui.cameraMessage.replaceChildren();
  if (text) ui.cameraMessage.append(icon("triangle-alert"), document.createTextNode(text));
}

// Shows the buttons that fit `mode`, keeping keyboard focus on whichever replaces the one that was pressed.
function setCamera(mode) {
  page.camera = mode;
  document.body.dataset.camera = mode;
  const buttons = [ui.start, ui.pause, ui.resume];
  const focused = buttons.find((button) => button === document.activeElement);
  ui.start.hidden = mode === "on" || mode === "paused";
  ui.start.disabled = page.connection === "refused" || page.analysis === "none";
  ui.pause.hidden = mode !== "on";
  ui.resume.hidden = mode !== "paused";
  if (focused && (focused.hidden || focused.disabled)) {
    const next = buttons.find((button) => !button.hidden && !button.disabled);
    // Refused: Start camera is disabled, so focus goes to the message that says why rather than to <body>.
    (next ?? ui.connection).focus();
  }
  preview.camera(mode);
}

async function startCamera() {
  if (page.camera !== "off") return; // a second click while the browser still asks for permission
  showCameraMessage("");
  setCamera("starting");
  try {
    await camera.open();
  } catch (error) {
    setCamera("off");
    showCameraMessage(cameraProblem(error, "Start camera"));
    return;
  }
  if (page.camera !== "starting" || page.leaving) {
    camera.close(); // refused or left while the browser was asking
    return;
  }
  setCamera("on");
  awaitFeedback();
  if (camera.muted) onCameraMuted();
  if (page.connection === "idle") socket.connect();
  else sender.schedule();
}

function pause() {
  if (page.camera !== "on") return;
  setCamera("paused");
  camera.close();
  sender.stop();
  socket.sendJson({ type: "pause" });
  view.state("paused");
  view.clearLive();
}

let resuming = false;

async function resume() {
  if (page.camera !== "paused" || resuming) return;
  showCameraMessage("");
  resuming = true;
  try {
    await camera.open();
  } catch (error) {
    showCameraMessage(cameraProblem(error, "Resume"));
    return;
  } finally {
    resuming = false;
  }
  if (page.camera !== "paused" || page.leaving) {
    camera.close(); // refused or left while the browser was asking
    return;
  }
  setCamera("on");
  awaitFeedback();
  if (camera.muted) onCameraMuted();
  socket.sendJson({ type: "resume" });
  sender.restart();
}

// The camera was unplugged, or the browser or another app took it away.
function onCameraEnded() {
  sender.stop();
  setCamera("off");
  view.state("waiting");
  view.clearLive();
  showCameraMessage("The camera stopped: it was unplugged, or another app took it. Press Start camera to try again.");
}

// The camera is there but gives no picture: nothing is sent meanwhile (a frozen last picture would read as a
// student at work), and the teacher sees the camera silent.
function onCameraMuted() {
  if (page.camera !== "on") return;
  awaitFeedback();
  view.clearLive();
  showCameraMessage("Your camera gives no picture just now (a closed lid, or another app using it). Nothing is "
    + "sent meanwhile, and it carries on by itself when the picture is back.");
}

// The picture is back: the frame sender, which waits for one, carries on by itself.
function onCameraUnmuted() {
  showCameraMessage("");
  if (page.camera === "on") awaitFeedback();
}

// ---- Connection -----------------------------------------------------------------------------------------

function setConnection(status, ...content) {
  page.connection = status;
  connectionLine.show(status, ...content);
}

function socketOpened() {
  // A retry says "connected" only once the server answers (onProved): during an outage the server accepts and then
  // closes (4503), and "Connected" would flash at every attempt.
  if (!page.wasLost) setConnection("open", "Connected");
  if (page.camera === "paused") {
    socket.sendJson({ type: "pause" });
  } else if (page.camera === "on") {
    view.state("waiting");
    sender.restart();
  }
}

function socketLost() {
  sender.stop();
  if (page.camera === "on") view.state("offline");
  view.clearLive();
  if (!page.wasLost) announcer.say("Connection lost. Reconnecting…");
  page.wasLost = true;
}

// The server said no (not logged in, not a member, no such class, no consent): trying again would not help.
function refused({ code, message }) {
  const text = message || "The class refused the connection.";
  sender.stop();
  camera.close();
  page.connection = "refused";
  view.state("offline");
  view.clearLive();
  // The page itself shows the consent step; reload once, and not in a loop if something is off.
  const reloading = code === "consent_required" && reloadOnce();
  connectionLine.refused(code, text, { reloading, useThisTab });
  // After the message is complete: if the focused Pause or Resume goes away, focus lands on the message.
  setCamera("off");
  if (reloading) return;
  // Focus on the message reads it out; announcing it as well would say it twice.
  if (document.activeElement !== ui.connection) announcer.say(text);
}

// The other tab is told (4409) and stops; this one opens the camera again.
function useThisTab() {
  page.wasLost = false;
  socket.connect();
  startCamera();
}

// ---- Messages -------------------------------------------------------------------------------------------

function onMessage(message) {
  switch (message.type) {
    case "feedback":
      socket.proved();
      // A frame in flight when the student paused or the camera went blank is counted, but not shown as live.
      view.feedback(message, page.camera === "on" && !camera.muted);
      sender.answered(message.fair_fps);
      break;
    case "paused":
    case "resumed":
      socket.proved();
      break;
    case "error":
      if (message.code === "frames_off" || message.code === "measurements_off") {
        deviceAnalysis.changed(message);
        break;
      }
      view.frameError(message, unreadableNote());
      sender.answered();
      break;
    default:
      break;
  }
}

// ---- Where the face is analysed ------------------------------------------------------------------------------

function setAnalysis(mode, ...words) {
  page.analysis = mode;
  document.body.dataset.analysis = mode;
  ui.analysisStatus.replaceChildren(...words);
  if (mode === "none") {
    // Nothing to send, so no socket either: the teacher sees this student as not connected, which is the truth.
    sender.stop();
    socket.stop(1000);
    if (page.camera !== "off") {
      camera.close();
      view.clearLive();
    }
    view.state("waiting"); // whose help now says that nothing is analysed here
    setConnection("idle", "Not connected: nothing is sent from this page.");
  }
  setCamera(mode === "none" ? "off" : page.camera); // Start camera may be allowed or not now
}

// ---- Wiring ---------------------------------------------------------------------------------------------

ui.start.addEventListener("click", startCamera);
ui.start.disabled = false; // the template disables it until now
ui.pause.addEventListener("click", pause);
ui.resume.addEventListener("click", resume);

// Leaving on purpose: stop the camera and close quietly, so the server's "consent withdrawn" answer does not
// trigger a reload that would cancel the form's own navigation.
function leave() {
  page.leaving = true;
  sender.stop();
  announcer.cancelState();
  camera.close();
  socket.stop(1000);
  deviceAnalysis.close();
}
ui.withdrawForm.addEventListener("submit", leave);
window.addEventListener("pagehide", leave);
// Restored from the back/forward cache with the camera and socket gone: start clean.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) location.reload();
});

setCamera("off");
document.body.dataset.analysis = page.analysis;
if (page.analysis === "loading") deviceAnalysis.prepare();
else sender.use(jpegFrames());
setConnection("idle", "Not connected yet. Start your camera to join.");
