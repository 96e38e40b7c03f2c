// The states the tracker reports, with the words and icon every page shows for them. Colour is only ever a
// third cue (smartsession.css, .state-<name>): the icon and the label carry the meaning on their own.
export const STATES = {
  focused: { label: "Focused", icon: "eye", help: "Face in view, looking at the screen." },
  happy: { label: "Happy", icon: "smile", help: "Smiling, and engaged." },
  confused: { label: "Confused", icon: "circle-question-mark", help: "Brows drawn together for a while." },
  distracted: { label: "Distracted", icon: "eye-off", help: "Looking away from the screen." },
  drowsy: { label: "Drowsy", icon: "moon", help: "Eyes closed for long, or often." },
  absent: { label: "Absent", icon: "user-x", help: "No face in view." },
  // Not tracker states: what a page shows before the first feedback, while paused, or when not connected.
  paused: { label: "Paused", icon: "circle-pause", help: "The student paused their camera." },
  waiting: { label: "Waiting", icon: "hourglass", help: "No feedback yet." },
  offline: { label: "Not connected", icon: "wifi-off", help: "The student's page is not open." },
};

const SVG_NS = "http://www.w3.org/2000/svg";

// An icon from the page's sprite ({% icon_sprite %} in base.html); decorative, so hidden from screen readers.
export function icon(name) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const use = document.createElementNS(SVG_NS, "use");
  use.setAttribute("href", `#icon-${name}`);
  svg.append(use);
  return svg;
}

// <span class="state-badge state-focused"><svg…/> Focused</span>; unknown names show as "waiting".
export function stateBadge(state) {
  const name = state in STATES ? state : "waiting";
  const badge = document.createElement("span");
  badge.className = `state-badge state-${name}`;
  badge.dataset.state = name;
  badge.append(icon(STATES[name].icon), document.createTextNode(STATES[name].label));
  return badge;
}
