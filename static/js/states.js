// The states as every page shows them: icon and label (colour is only ever a third cue, smartsession.css
// .state-<name>). Their words come from the server (definitions.js), never from here.
import { STATES } from "./definitions.js";

export { STATES };

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

// <span class="state-badge state-focused"><svg…/> Focused</span>; unknown names show as "waiting". A state not
// validated on labelled data says so ("experimental") wherever it is shown.
export function stateBadge(state) {
  const name = state in STATES ? state : "waiting";
  const info = STATES[name];
  const badge = document.createElement("span");
  badge.className = `state-badge state-${name}`;
  badge.dataset.state = name;
  if (info.icon) badge.append(icon(info.icon));
  badge.append(document.createTextNode(info.label));
  if (info.experimental) {
    const note = document.createElement("span");
    note.className = "experimental";
    note.textContent = "experimental";
    badge.append(" ", note);
  }
  return badge;
}
