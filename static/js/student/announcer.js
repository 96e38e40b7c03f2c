// What a screen reader hears: connection news and, if the student wants, their state once it has settled.
import { capitalise } from "../dom.js";
import { STATES } from "../states.js";

// Announcements follow each other at most this often; a screen reader user hears the newest.
const ANNOUNCE_GAP_MS = 1500;
// States can flip every second or two; only one that has held this long is spoken, or speech would never stop.
const STATE_SETTLE_MS = 3000;
const ANNOUNCE_STORAGE_KEY = "smartsession.announceState";

export class Announcer {
  constructor(region, toggle) {
    this.region = region;
    this.toggle = toggle;
    this.pending = null; // { text, aboutState }
    this.timer = null;
    this.lastAt = -Infinity;
    this.states = true;
    this.announcedState = null; // the last state spoken: never the same twice in a row
    this.shownState = "waiting";
    this.stateTimer = null;
    toggle.addEventListener("change", () => this.setStates(toggle.checked));
    this.setStates(storedChoice(ANNOUNCE_STORAGE_KEY) !== "off");
  }

  say(text, aboutState = false) {
    this.pending = { text, aboutState };
    const wait = this.lastAt + ANNOUNCE_GAP_MS - performance.now();
    if (wait <= 0) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), wait);
  }

  flush() {
    this.timer = null;
    if (this.pending === null) return;
    const { text, aboutState } = this.pending;
    this.pending = null;
    if (aboutState && !this.states) return; // turned off while it waited
    this.region.textContent = text;
    this.lastAt = performance.now();
  }

  // A state is spoken once it has held STATE_SETTLE_MS, and not if it is the one spoken last: a student whose
  // state flips between focused and distracted hears nothing until one of them sticks. `reasons()` gives the
  // reasons shown by then.
  stateShown(state, reasons) {
    this.shownState = state;
    this.cancelState();
    // Waiting and not connected are passing states; the connection line speaks for them.
    if (!this.states || state === "waiting" || state === "offline" || state === this.announcedState) return;
    this.stateTimer = setTimeout(() => {
      this.stateTimer = null;
      if (!this.states || this.shownState !== state) return;
      this.announcedState = state;
      const shown = reasons();
      const why = shown.length ? ` ${capitalise(shown[0])}.` : "";
      this.say(`Your state: ${STATES[state].label}.${why}`, true);
    }, STATE_SETTLE_MS);
  }

  cancelState() {
    clearTimeout(this.stateTimer);
    this.stateTimer = null;
  }

  setStates(on) {
    this.states = on;
    this.toggle.checked = on;
    this.cancelState();
    // Turned back on: the state shown now counts as heard; the next change is spoken.
    if (on) this.announcedState = this.shownState;
    try {
      localStorage.setItem(ANNOUNCE_STORAGE_KEY, on ? "on" : "off");
    } catch {
      // Storage can be off (private modes); the choice then lasts for this page only.
    }
  }
}

export function storedChoice(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // no storage: the page's defaults
  }
}
