// A card per student, in a grid that stays calm: cards are re-ordered at most every RESORT_EVERY_MS on live
// data, by a state that has held a few seconds, so no card jumps from under the teacher's pointer.
import { capitalise, element, isNumber, setText } from "../dom.js";
import { stateBadge } from "../states.js";
import { ago, currentEngagement, displayState, silenceText, students } from "./roster.js";

// Most in need of attention first; the pseudo-states last.
export const STATE_ORDER = ["absent", "drowsy", "distracted", "confused", "focused", "happy", "paused", "waiting", "offline"];
const RESORT_EVERY_MS = 10000;
// A state counts for the order only once it has held this long: a one-second glance away moves nothing.
const SORT_STATE_SETTLE_MS = 3000;
// From this many students the grid starts compact, so a class of 30 fits a 1280-pixel screen without scrolling.
const COMPACT_FROM = 13;
const SORT_STORAGE_KEY = "smartsession.dashboardSort";
const DENSITY_STORAGE_KEY = "smartsession.dashboardDensity";

const PSEUDO_STATE_REASONS = {
  offline: "",
  paused: "Paused by the student",
  waiting: "No picture analysed yet",
};

const list = document.getElementById("cards");
const empty = document.getElementById("cards-empty");
const sortSelect = document.getElementById("sort");
const densitySwitch = document.getElementById("compact");
let orderDirty = false;
let cardsMovedAt = null; // when live data last moved the cards (Date.now()), null before it ever did
let onOpen = () => {};

// A badge whose data-state would clash with the card's and count's own data-state test hooks.
export function plainBadge(state) {
  const badge = stateBadge(state);
  delete badge.dataset.state;
  return badge;
}

export function markOrderDirty() {
  orderDirty = true;
}

export function addCard(student) {
  student.card = buildCard(student);
  student.shownState = null;
  student.sortState = { state: null, next: null, since: 0 };
  list.append(student.card.root);
  empty.hidden = true;
  renderCard(student);
  orderDirty = true;
}

function buildCard(student) {
  const root = element("li", "card");
  root.dataset.studentId = String(student.id);

  const head = element("div", "card-head");
  const title = element("h3", "card-title");
  const open = element("button", "card-open");
  open.type = "button";
  open.setAttribute("aria-haspopup", "dialog");
  const stateId = `card-state-${student.id}`;
  open.setAttribute("aria-describedby", stateId);
  const name = element("span", "card-name", student.name);
  open.append(name);
  open.addEventListener("click", () => onOpen(student, open));
  title.append(open);
  const state = element("span", "card-state");
  state.id = stateId;
  head.append(title, state);

  const meter = element("div", "card-meter");
  const engagement = element("span", "card-engagement", "–");
  const bar = element("span", "bar");
  bar.setAttribute("aria-hidden", "true");
  const fill = element("span", "bar-fill");
  bar.append(fill);
  meter.append(element("span", "card-label", "Engagement"), engagement, bar);

  const reason = element("p", "card-reason");
  const facts = element("dl", "card-facts");
  const fact = (label, className) => {
    const row = element("div");
    const value = element("dd", className, "–");
    row.append(element("dt", "", label), value);
    facts.append(row);
    return value;
  };
  const blinkRate = fact("Blink rate", "card-blink-rate");
  const confidence = fact("Confidence", "card-confidence");
  const updated = fact("Updated", "card-updated");

  const note = element("p", "card-note", "Gaze and head-pose rules off (accommodation)");
  root.append(head, meter, reason, facts, note);
  return { root, open, name, state, engagement, fill, reason, blinkRate, confidence, updated, note };
}

function cardReason(student, state, status) {
  const silence = silenceText(student);
  if (silence) return silence;
  if (state in PSEUDO_STATE_REASONS) return PSEUDO_STATE_REASONS[state];
  return capitalise((status.reasons || [])[0] || "");
}

export function renderCard(student) {
  const card = student.card;
  const state = displayState(student);
  const status = student.status || {};
  if (state !== student.shownState) {
    card.root.dataset.state = state;
    card.root.className = `card state-${state}`;
    card.state.replaceChildren(plainBadge(state));
    student.shownState = state;
    student.sortState.next = state;
    student.sortState.since = Date.now();
    orderDirty = true;
  }
  setText(card.name, student.name);
  card.note.hidden = student.attentionRules;
  // Only a student measured now has an engagement now: a dash while paused, silent, waiting or away.
  const now = currentEngagement(student);
  const engagement = now === null ? null : Math.round(now);
  setText(card.engagement, engagement === null ? "–" : String(engagement));
  card.fill.style.width = `${engagement ?? 0}%`;
  setText(card.reason, cardReason(student, state, status));
  // The blink rate and confidence are of now too: a dash with the engagement.
  const measured = now !== null;
  setText(card.blinkRate, measured && isNumber(status.blink_rate_per_min) ? `${Math.round(status.blink_rate_per_min)}/min` : "–");
  const confidence = measured ? status.confidence : null;
  setText(card.confidence, confidence === "uncertain" ? "uncertain" : confidence === "ok" ? "ok" : "–");
  card.confidence.classList.toggle("is-uncertain", confidence === "uncertain");
  setText(card.updated, ago(student.receivedAt));
}

let settling = false; // a state shown but not yet held long enough to count for the order

// The state a card is sorted by: the shown one once it has held SORT_STATE_SETTLE_MS (at once the first time).
function sortStateOf(student) {
  const sort = student.sortState;
  if (sort.next !== null) {
    if (sort.state === null || Date.now() - sort.since >= SORT_STATE_SETTLE_MS) {
      sort.state = sort.next;
      sort.next = null;
    } else {
      settling = true;
    }
  }
  return sort.state;
}

const byName = (a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" }) || a.id - b.id;
const byState = (a, b) => STATE_ORDER.indexOf(sortStateOf(a)) - STATE_ORDER.indexOf(sortStateOf(b));
const COMPARATORS = {
  name: byName,
  attention: (a, b) => byState(a, b) || byName(a, b),
  // Lowest first; students with nothing to measure now go after everyone measured.
  engagement: (a, b) => {
    const ea = currentEngagement(a);
    const eb = currentEngagement(b);
    if (ea === null || eb === null) return (ea === null) - (eb === null) || byState(a, b) || byName(a, b);
    return ea - eb || byName(a, b);
  },
};

// Moves only when the order changed, and keeps keyboard focus on the card it was on. `cause` is "live" for
// new data (at most one move per RESORT_EVERY_MS; the rest waits for the next tick), "sort" when the teacher
// chose an order (at once) and "start" for the page's first layout.
export function placeCards(cause = "live") {
  if (cause === "live" && !orderDirty) return;
  if (cause === "live" && cardsMovedAt !== null && Date.now() - cardsMovedAt < RESORT_EVERY_MS) return;
  settling = false;
  const compare = COMPARATORS[sortSelect.value] || byName;
  const ordered = [...students.values()].sort(compare).map((student) => student.card.root);
  orderDirty = settling; // look again on a later tick, once those states have held
  const current = [...list.children];
  empty.hidden = ordered.length > 0;
  if (ordered.every((node, index) => current[index] === node)) return;
  if (cause !== "start") cardsMovedAt = Date.now();
  const focused = list.contains(document.activeElement) ? document.activeElement : null;
  for (const node of ordered) {
    if (list.moveBefore) list.moveBefore(node, null); // keeps focus without a blur (Chrome 133+)
    else list.append(node);
  }
  if (focused && document.activeElement !== focused) focused.focus({ preventScroll: true });
  document.body.dataset.reorders = String(Number(document.body.dataset.reorders || 0) + 1);
}

function stored(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage off (private modes): the page's defaults
  }
}

function store(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // The choice then lasts for this page only.
  }
}

function applyDensity() {
  list.classList.toggle("is-compact", densitySwitch.checked);
}

export function setUpCards({ open }) {
  onOpen = open;
  const sort = stored(SORT_STORAGE_KEY);
  if (sort && sort in COMPARATORS) sortSelect.value = sort;
  sortSelect.addEventListener("change", () => {
    store(SORT_STORAGE_KEY, sortSelect.value);
    placeCards("sort");
  });
  const density = stored(DENSITY_STORAGE_KEY);
  densitySwitch.checked = density ? density === "compact" : students.size >= COMPACT_FROM;
  applyDensity();
  densitySwitch.addEventListener("change", () => {
    store(DENSITY_STORAGE_KEY, densitySwitch.checked ? "compact" : "detailed");
    applyDensity();
  });
}
