// The student's feedback as it arrives: state (icon, word and colour, never colour alone), engagement, blinks,
// reasons and a tip they can act on; a note when the server keeps refusing the camera's pictures.
import { capitalise, setText } from "../dom.js";
import { STATES, icon, stateBadge } from "../states.js";

// One unreadable frame is noise (a camera hiccup); a run of them is worth a quiet note.
const FRAME_ERRORS_BEFORE_NOTE = 5;

// The server names the quality problem in `reasons`; each becomes something the student can do about it.
const QUALITY_TIPS = [
  [/dark/i, "The room looks dark — turn on a light or face a window."],
  [/too small|closer/i, "Your face looks small — move closer to the camera."],
  [/turned too far/i, "Turn your face towards the camera so your eyes can be seen."],
];

const byId = (id) => document.getElementById(id);

export class FeedbackView {
  // `help(state)` gives the line under a state that is not the tracker's (waiting, paused, offline).
  constructor({ announcer, help }) {
    this.announcer = announcer;
    this.help = help;
    this.ui = {
      state: byId("state"),
      stateHelp: byId("state-help"),
      engagement: byId("engagement"),
      engagementMeter: byId("engagement-meter"),
      blinks: byId("blinks"),
      blinkRate: byId("blink-rate"),
      reasons: byId("reasons"),
      tip: byId("tip"),
      frameNote: byId("frame-note"),
    };
    this.shownState = "waiting";
    this.stateReasons = [];
    this.helpText = null;
    this.reasonsKey = "";
    this.frames = 0;
    this.frameErrors = 0;
    this.frameErrorsInRow = 0;
    document.body.dataset.frames = "0";
  }

  // `showing`: whether the page shows live feedback now (not paused); a late answer still counts.
  feedback(feedback, showing) {
    this.frames += 1;
    document.body.dataset.frames = String(this.frames);
    this.frameErrorsInRow = 0;
    setText(this.ui.frameNote, "");
    if (!showing) return;
    const reasons = Array.isArray(feedback.reasons) ? feedback.reasons.map(String) : [];
    this.state(feedback.state, reasons);
    const engagement = Math.round(Number(feedback.engagement) || 0);
    setText(this.ui.engagement, String(engagement));
    if (this.ui.engagementMeter.value !== engagement) this.ui.engagementMeter.value = engagement;
    setText(this.ui.blinks, String(feedback.blinks ?? 0));
    setText(this.ui.blinkRate, String(Math.round(Number(feedback.blink_rate_per_min) || 0)));
    this.reasons(reasons);
    this.tips(tipsFor(feedback));
  }

  frameError(error, note) {
    this.frameErrors += 1;
    this.frameErrorsInRow += 1;
    document.body.dataset.frameErrors = String(this.frameErrors);
    console.debug("SmartSession: frame %s refused (%s): %s", error.frame, error.code, error.message);
    if (this.frameErrorsInRow >= FRAME_ERRORS_BEFORE_NOTE) this.ui.frameNote.textContent = note;
  }

  state(name, reasons = []) {
    const state = name in STATES ? name : "waiting";
    this.stateReasons = reasons;
    const help = this.help(state) ?? "";
    if (help !== this.helpText) {
      this.helpText = help;
      this.ui.stateHelp.textContent = help;
    }
    if (state === this.shownState) return;
    this.shownState = state;
    this.ui.state.replaceChildren(stateBadge(state));
    this.announcer.stateShown(state, () => this.stateReasons);
  }

  reasons(reasons) {
    const key = reasons.join("\n");
    if (key === this.reasonsKey) return;
    this.reasonsKey = key;
    this.ui.reasons.replaceChildren(...reasons.map((reason) => {
      const item = document.createElement("li");
      item.textContent = capitalise(reason);
      return item;
    }));
  }

  tips(tips) {
    if (this.ui.tip.textContent === tips.join(" ")) return;
    this.ui.tip.replaceChildren();
    if (tips.length) this.ui.tip.append(icon("lightbulb"), document.createTextNode(tips.join(" ")));
  }

  // Hints about the picture, and the figures of now, mean nothing once nothing is measured (paused, camera off,
  // connection lost): the teacher's card says "–" then too. The blink count is the session's and stays.
  clearLive() {
    this.tips([]);
    this.reasons([]);
    setText(this.ui.engagement, "–");
    this.ui.engagementMeter.value = 0;
    setText(this.ui.blinkRate, "–");
  }
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
