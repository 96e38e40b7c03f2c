// The lesson's alerts, newest first: the stored ones the page was given (they survive a reload), then live ones.
import { clockTime, element } from "../dom.js";
import { STATES, icon } from "../states.js";
import { timeZone } from "./config.js";
import { students } from "./roster.js";

const MAX_ALERTS = 50;
const ALERT_ICONS = { face_lost: "user-x", camera_stopped: "camera-off" };

const list = document.getElementById("alerts");
const empty = document.getElementById("alerts-empty");
let onOpen = () => {};

// `event`: {student: {id, username, display_name}, kind, reason, time (ISO 8601)}, from the socket or the page.
export function addAlert(event) {
  const who = event.student || {};
  const known = students.get(who.id);
  const name = known ? known.name : who.display_name || who.username || "A student";
  const item = element("li", `alert alert-${event.kind || "other"}`);
  const kindIcon = ALERT_ICONS[event.kind] || (STATES[event.kind] ? STATES[event.kind].icon : "triangle-alert");
  const when = new Date(event.time);
  const valid = !Number.isNaN(when.getTime());
  const time = element("time", "alert-time", valid ? clockTime(when, timeZone) : "");
  if (valid) time.dateTime = event.time;

  let nameNode;
  if (known) {
    nameNode = element("button", "alert-name link-button", name);
    nameNode.type = "button";
    nameNode.setAttribute("aria-haspopup", "dialog");
    nameNode.addEventListener("click", () => onOpen(known, nameNode));
  } else {
    nameNode = element("strong", "alert-name", name);
  }
  item.append(icon(kindIcon), time, " ", nameNode, ": ", element("span", "alert-reason", event.reason || event.kind || ""));
  list.prepend(item);
  while (list.children.length > MAX_ALERTS) list.lastElementChild.remove();
  empty.hidden = true;
}

// A new lesson: the alerts shown were the last one's (its report keeps them).
export function clearAlerts() {
  list.replaceChildren();
  empty.hidden = false;
}

export function setUpAlerts({ stored, open }) {
  onOpen = open;
  for (const alert of stored || []) addAlert(alert);
}
