// The student's own picture beside the feedback: shown or hidden as the student chose (remembered on this
// device), and the words that stand in for it when the camera is off, starting, paused or hidden.
import { icon } from "../states.js";
import { storedChoice } from "./announcer.js";

const STORAGE_KEY = "smartsession.preview";

const PLACEHOLDER = {
  off: "Camera is off",
  starting: "Starting the camera…",
  paused: "Paused: the camera is off",
};

export class Preview {
  constructor({ frame, toggle, text }) {
    Object.assign(this, { frame, toggle, text });
    this.cameraMode = "off";
    toggle.addEventListener("click", () => this.setShown(toggle.getAttribute("aria-pressed") !== "true"));
    this.setShown(storedChoice(STORAGE_KEY) !== "hidden", { remember: false });
  }

  setShown(shown, { remember = true } = {}) {
    this.toggle.setAttribute("aria-pressed", String(shown));
    this.toggle.querySelector("use")?.setAttribute("href", shown ? "#icon-eye" : "#icon-eye-off");
    this.frame.classList.toggle("preview-hidden", !shown);
    this.update();
    if (!remember) return;
    try {
      localStorage.setItem(STORAGE_KEY, shown ? "shown" : "hidden");
    } catch {
      // Storage can be off (private modes); the choice then lasts for this page only.
    }
  }

  // The camera's mode (off | starting | on | paused), for the placeholder.
  camera(mode) {
    this.cameraMode = mode;
    this.frame.dataset.camera = mode;
    this.update();
  }

  update() {
    const hidden = this.frame.classList.contains("preview-hidden");
    this.text.previousElementSibling?.replaceWith(icon(this.cameraMode === "on" && hidden ? "eye-off" : "camera-off"));
    this.text.textContent = this.cameraMode === "on"
      ? (hidden ? "Your picture is hidden; the camera is on" : "")
      : PLACEHOLDER[this.cameraMode];
  }
}
