// The teacher's live view of one class: a card per student, counts per state, alerts, and the class's
// engagement over the last 10 minutes, fed by the teacher socket (docs/protocol.md, "Server → teacher").
import { loadUPlot } from "./charts.js";
import { REFUSAL_CLOSE_CODES, retryDelayMs, socketUrl } from "./live-socket.js";
import { STATES, icon, stateBadge } from "./states.js";

const config = JSON.parse(document.getElementById("dashboard-config").textContent);

// Most in need of attention first; the pseudo-states last.
const STATE_ORDER = ["absent", "drowsy", "distracted", "confused", "focused", "happy", "paused", "waiting", "offline"];
const WINDOW_S = 10 * 60;
const CLASS_SAMPLE_EVERY_MS = 5000;
const STUDENT_POINT_EVERY_S = 1; // the server sends up to 4 updates a second; one point a second is plenty
// Points further apart than this are not joined by the line: the server's buckets are 10 s, our samples 5 s.
const CLASS_GAP_S = 30;
const STUDENT_GAP_S = 10;
const MAX_ALERTS = 50;
// A connected, unpaused student sends several updates a second while their camera runs: none for this long
// means no picture reaches the server (camera stopped, tab asleep), so the last state is no longer true.
const STALE_AFTER_MS = 6000;
// Cards sorted by state or engagement move at most this often on live data, so they do not jump from under
// the pointer; choosing another order in #sort moves them at once.
const RESORT_EVERY_MS = 10000;
const REFUSAL_MESSAGES = {
  4401: "Log in again to watch this class.",
  4403: "Only this class's teacher can watch it.",
  4404: "No class has this join code.",
};
const ALERT_ICONS = { face_lost: "user-x", camera_stopped: "camera-off" };

const elements = {
  cards: document.getElementById("cards"),
  cardsEmpty: document.getElementById("cards-empty"),
  counts: document.getElementById("counts"),
  alerts: document.getElementById("alerts"),
  alertsEmpty: document.getElementById("alerts-empty"),
  timeline: document.getElementById("timeline"),
  timelineSummary: document.getElementById("timeline-summary"),
  sort: document.getElementById("sort"),
  connection: document.getElementById("connection"),
  detail: document.getElementById("student-detail"),
};

const students = new Map(); // id -> student record, see addStudent()
let updatesReceived = 0;
let orderDirty = false;
let cardsMovedAt = null; // when live data last moved the cards (Date.now()), null before it ever did
const socketState = { socket: null, live: false, attempt: 0, refused: false, retryAt: null, retryTimer: null };
document.body.dataset.updates = "0";

// ---- Small helpers --------------------------------------------------------------------------------

const nowSeconds = () => Date.now() / 1000;
const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function capitalise(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

function clockTime(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function duration(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h`;
}

function ago(ms) {
  return ms === null ? "never" : `${duration(Date.now() - ms)} ago`;
}

// A badge whose data-state would clash with the card's and count's own data-state test hooks.
function plainBadge(state) {
  const badge = stateBadge(state);
  delete badge.dataset.state;
  return badge;
}

// Keeps [t[], y[]] to the last `WINDOW_S` seconds.
function trimSeries(series, now = nowSeconds()) {
  let drop = 0;
  while (drop < series[0].length && series[0][drop] < now - WINDOW_S) drop += 1;
  if (drop) series.forEach((column) => column.splice(0, drop));
}

// ---- Students and their cards ---------------------------------------------------------------------

// Connected and not paused, yet nothing from them for a while: their last state is out of date. Only judged
// while this page's own socket is live; when it is down, every card is marked stale as a whole (.is-stale).
function isSilent(student) {
  return (
    socketState.live &&
    student.connected &&
    student.status !== null &&
    !student.status.paused &&
    student.receivedAt !== null &&
    Date.now() - student.receivedAt > STALE_AFTER_MS
  );
}

function displayState(student) {
  if (!student.connected) return "offline";
  if (!student.status) return "waiting";
  if (student.status.paused) return "paused";
  if (isSilent(student)) return "waiting";
  return student.status.state in STATES ? student.status.state : "waiting";
}

// "No picture for 12 s" while a student who had a state has gone silent; null otherwise.
function silenceText(student) {
  if (!isSilent(student) || !(student.status.state in STATES)) return null;
  return `No picture for ${duration(Date.now() - student.receivedAt)}`;
}

// The engagement that describes the student now: none while paused, waiting or away from the page.
function currentEngagement(student) {
  const state = displayState(student);
  if (state === "offline" || state === "paused" || state === "waiting") return null;
  return isNumber(student.status.engagement) ? student.status.engagement : null;
}

function addStudent({ id, username, display_name: displayName, attention_rules: attentionRules = true }) {
  const student = {
    id,
    username,
    name: displayName || username || `Student ${id}`,
    attentionRules,
    connected: false,
    status: null, // the latest status object from the server
    receivedAt: null, // when it arrived, by this browser's clock (the server's may differ)
    history: [[], []], // [t seconds, engagement] since this page opened
    shownState: null,
  };
  student.card = buildCard(student);
  students.set(id, student);
  elements.cards.append(student.card.root);
  elements.cardsEmpty.hidden = true;
  renderCard(student);
  orderDirty = true;
  return student;
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
  open.append(element("span", "card-name", student.name));
  open.addEventListener("click", () => openDetail(student, open));
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
  return { root, open, state, engagement, fill, reason, blinkRate, confidence, updated, note };
}

const PSEUDO_STATE_REASONS = {
  offline: "",
  paused: "Paused by the student",
  waiting: "No picture analysed yet",
};

function cardReason(student, state, status) {
  const silence = silenceText(student);
  if (silence) return silence;
  if (state in PSEUDO_STATE_REASONS) return PSEUDO_STATE_REASONS[state];
  return capitalise((status.reasons || [])[0] || "");
}

function renderCard(student) {
  const card = student.card;
  const state = displayState(student);
  const status = student.status || {};
  if (state !== student.shownState) {
    card.root.dataset.state = state;
    card.root.className = `card state-${state}`;
    card.state.replaceChildren(plainBadge(state));
    student.shownState = state;
    orderDirty = true;
  }
  card.note.hidden = student.attentionRules;
  // A silent student's last number is not their engagement now: a dash, as for one not measured yet.
  const engagement = isNumber(status.engagement) && !isSilent(student) ? Math.round(status.engagement) : null;
  setText(card.engagement, engagement === null ? "–" : String(engagement));
  card.fill.style.width = `${engagement ?? 0}%`;
  setText(card.reason, cardReason(student, state, status));
  setText(card.blinkRate, isNumber(status.blink_rate_per_min) ? `${Math.round(status.blink_rate_per_min)}/min` : "–");
  setText(card.confidence, status.confidence === "uncertain" ? "uncertain" : status.confidence === "ok" ? "ok" : "–");
  card.confidence.classList.toggle("is-uncertain", status.confidence === "uncertain");
  setText(card.updated, ago(student.receivedAt));
}

function applyStatus(status, { connected }) {
  const student = students.get(status.id) || addStudent(status);
  const before = { state: displayState(student), engagement: currentEngagement(student) };
  student.connected = connected;
  student.status = status;
  // feedback_age_s: how old the status already was when the server sent it (a snapshot of a student whose
  // camera stopped a while ago), so a stale card is recognised at once rather than 6 s later.
  const ageMs = typeof status.feedback_age_s === "number" ? status.feedback_age_s * 1000 : 0;
  student.receivedAt = Date.now() - ageMs;
  if (status.display_name && status.display_name !== student.name) {
    student.name = status.display_name;
    setText(student.card.root.querySelector(".card-name"), student.name);
    orderDirty = true;
  }
  // Older servers leave it out; then what the page was given at load (config.members) stands.
  if (typeof status.attention_rules === "boolean") student.attentionRules = status.attention_rules;
  recordStudentPoint(student);
  renderCard(student);
  if (displayState(student) !== before.state || currentEngagement(student) !== before.engagement) orderDirty = true;
  if (detail.student === student) renderDetail();
}

function recordStudentPoint(student) {
  const engagement = currentEngagement(student);
  if (engagement === null) return;
  const [times, values] = student.history;
  const t = nowSeconds();
  if (times.length && t - times[times.length - 1] < STUDENT_POINT_EVERY_S) {
    values[values.length - 1] = engagement;
  } else {
    times.push(t);
    values.push(engagement);
  }
  trimSeries(student.history, t);
}

// ---- Order and counts -----------------------------------------------------------------------------

const byName = (a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" }) || a.id - b.id;
const byState = (a, b) => STATE_ORDER.indexOf(displayState(a)) - STATE_ORDER.indexOf(displayState(b));
const COMPARATORS = {
  name: byName,
  state: (a, b) => byState(a, b) || byName(a, b),
  // Lowest first; students with nothing to measure now go after everyone measured.
  engagement: (a, b) => {
    const ea = currentEngagement(a);
    const eb = currentEngagement(b);
    if (ea === null || eb === null) return (ea === null) - (eb === null) || byState(a, b) || byName(a, b);
    return ea - eb || byName(a, b);
  },
};

// Moves only when the order changed, and keeps keyboard focus on the card it was on. `cause` is "live" for
// new data (at most one move per RESORT_EVERY_MS; orderDirty keeps the rest for the 1 s tick), "sort" when
// the teacher chose an order (at once) and "start" for the page's first layout.
function placeCards(cause = "live") {
  if (cause === "live" && cardsMovedAt !== null && Date.now() - cardsMovedAt < RESORT_EVERY_MS) return;
  orderDirty = false;
  const list = elements.cards;
  const compare = COMPARATORS[elements.sort.value] || byName;
  const ordered = [...students.values()].sort(compare).map((student) => student.card.root);
  const current = [...list.children];
  elements.cardsEmpty.hidden = ordered.length > 0;
  if (ordered.every((node, index) => current[index] === node)) return;
  if (cause !== "start") cardsMovedAt = Date.now();
  const focused = list.contains(document.activeElement) ? document.activeElement : null;
  for (const node of ordered) {
    if (list.moveBefore) list.moveBefore(node, null); // keeps focus without a blur (Chrome 133+)
    else list.append(node);
  }
  if (focused && document.activeElement !== focused) focused.focus({ preventScroll: true });
}

const countElements = new Map();
let countsForExpressions = null; // the class's `expressions` the counts bar was built for

// An expression-free class has no happy or confused students: no counts for them. Rebuilt only on a change.
function buildCounts(expressions) {
  if (expressions === countsForExpressions) return;
  countsForExpressions = expressions;
  countElements.clear();
  elements.counts.replaceChildren();
  const shown = expressions ? STATE_ORDER : STATE_ORDER.filter((s) => s !== "happy" && s !== "confused");
  for (const state of shown) {
    const item = element("li", `count-item state-${state}`);
    const count = element("span", "count", "0");
    count.dataset.state = state;
    item.title = STATES[state].help;
    item.append(plainBadge(state), count);
    elements.counts.append(item);
    countElements.set(state, count);
  }
}

function renderCounts() {
  const totals = new Map(STATE_ORDER.map((state) => [state, 0]));
  for (const student of students.values()) {
    const state = displayState(student);
    totals.set(state, totals.get(state) + 1);
  }
  for (const [state, count] of countElements) {
    const total = totals.get(state);
    setText(count, String(total));
    count.parentElement.classList.toggle("is-zero", total === 0);
  }
}

// ---- Alerts ---------------------------------------------------------------------------------------

function addAlert(event) {
  const who = event.student || {};
  const known = students.get(who.id);
  const name = known ? known.name : who.display_name || who.username || "A student";
  const item = element("li", `alert alert-${event.kind || "other"}`);
  const kindIcon = ALERT_ICONS[event.kind] || (STATES[event.kind] ? STATES[event.kind].icon : "triangle-alert");
  const when = new Date(event.time);
  const time = element("time", "alert-time", Number.isNaN(when.getTime()) ? "" : clockTime(when));
  if (!Number.isNaN(when.getTime())) time.dateTime = event.time;

  let nameNode;
  if (known) {
    nameNode = element("button", "alert-name link-button", name);
    nameNode.type = "button";
    nameNode.setAttribute("aria-haspopup", "dialog");
    nameNode.addEventListener("click", () => openDetail(known, nameNode));
  } else {
    nameNode = element("strong", "alert-name", name);
  }
  item.append(icon(kindIcon), time, " ", nameNode, ": ", element("span", "alert-reason", event.reason || event.kind || ""));
  elements.alerts.prepend(item);
  while (elements.alerts.children.length > MAX_ALERTS) elements.alerts.lastElementChild.remove();
  elements.alertsEmpty.hidden = true;
}

// ---- Charts: uPlot when it loads, text always --------------------------------------------------------

let uPlot = null;

async function loadChartLibrary() {
  uPlot = await loadUPlot(elements.timeline.dataset.uplotSrc);
  // No Node.js at set-up means no uPlot; the text summaries carry the same information.
  if (!uPlot) console.warn("Engagement chart unavailable, showing text only.");
}

function cssVar(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

// The class chart always spans 10 minutes; a student's spans what this page has seen of them, at least a minute.
const pageOpenedAt = nowSeconds();
const fullWindow = () => [nowSeconds() - WINDOW_S, nowSeconds()];
const seenWindow = () => {
  const span = Math.min(WINDOW_S, Math.max(60, nowSeconds() - pageOpenedAt));
  return [nowSeconds() - span, nowSeconds()];
};

function makeChart(container, data, { height, label, range, legend }) {
  const accent = cssVar("--accent", "#2457c5");
  const muted = cssVar("--muted", "#5b6575");
  const line = cssVar("--line", "#d5dbe5");
  const axis = { stroke: muted, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 } };
  // HH:MM (HH:MM:SS below a minute): uPlot's default labels repeat the date, too busy for 10 minutes.
  const timeAxis = {
    ...axis,
    space: 60,
    incrs: [10, 15, 30, 60, 120, 300, 600],
    values: (u, splits, axisIndex, space, increment) =>
      splits.map((t) => clockTime(new Date(t * 1000)).slice(0, increment < 60 ? 8 : 5)),
  };
  const chart = new uPlot(
    {
      width: Math.max(200, container.clientWidth),
      height,
      scales: {
        x: { time: true, range },
        y: { range: [0, 100] },
      },
      axes: [timeAxis, { ...axis, size: 40 }],
      legend: { show: legend },
      series: [
        { label: "Time", value: (u, t) => (t === null ? "–" : clockTime(new Date(t * 1000))) },
        {
          label,
          stroke: accent,
          width: 2,
          fill: `${accent}1f`,
          value: (u, v) => (v === null ? "–" : String(Math.round(v))),
        },
      ],
    },
    data,
    container,
  );
  // The text beside it says the same; the canvas alone would be silent to screen readers.
  chart.root.setAttribute("aria-hidden", "true");
  const resize = new ResizeObserver(() => {
    const width = Math.max(200, container.clientWidth);
    if (width !== chart.width) chart.setSize({ width, height });
  });
  resize.observe(container);
  chart.stopResizing = () => resize.disconnect();
  return chart;
}

// A null between points further apart than `maxStep` seconds, so the line breaks where nothing was measured
// (server buckets nobody filled, a dropped socket, a paused student) instead of bridging it.
function withGaps([times, values], maxStep) {
  const outTimes = [];
  const outValues = [];
  times.forEach((t, index) => {
    if (index && t - times[index - 1] > maxStep) {
      outTimes.push((t + times[index - 1]) / 2);
      outValues.push(null);
    }
    outTimes.push(t);
    outValues.push(values[index]);
  });
  return [outTimes, outValues];
}

// ---- Class timeline -------------------------------------------------------------------------------

const classSeries = [[], [], []]; // t, mean engagement (null: nobody measured), students measured
let classChart = null;

function seedClassTimeline() {
  const points = [...(config.timeline || [])].sort((a, b) => a.t - b.t);
  for (const point of points) {
    classSeries[0].push(point.t);
    classSeries[1].push(isNumber(point.engagement) ? point.engagement : null);
    classSeries[2].push(point.students ?? null);
  }
  trimSeries(classSeries);
}

// Connected, unpaused students with a state; a gap (null) while nobody is measured or the socket is down.
function sampleClass() {
  const measured = socketState.live
    ? [...students.values()].map(currentEngagement).filter((value) => value !== null)
    : [];
  const mean = measured.length ? measured.reduce((sum, value) => sum + value, 0) / measured.length : null;
  classSeries[0].push(nowSeconds());
  classSeries[1].push(mean === null ? null : Math.round(mean * 10) / 10);
  classSeries[2].push(measured.length);
  trimSeries(classSeries);
  renderClassTimeline();
}

function renderClassTimeline() {
  const [times, values, counts] = classSeries;
  elements.timeline.dataset.points = String(times.length);
  if (classChart) classChart.setData(withGaps([times, values], CLASS_GAP_S));

  const known = values.map((value, index) => [value, index]).filter(([value]) => value !== null);
  if (!known.length) {
    setText(elements.timelineSummary, "No engagement measured in the last 10 minutes.");
    return;
  }
  const last = values.length - 1;
  const parts = [];
  if (values[last] !== null) {
    const n = counts[last];
    const who = isNumber(n) ? ` (${n} ${n === 1 ? "student" : "students"})` : "";
    parts.push(`Class engagement now ${Math.round(values[last])}${who}`);
  } else {
    const [value, index] = known[known.length - 1];
    parts.push(`No student measured now; last ${Math.round(value)} at ${clockTime(new Date(times[index] * 1000))}`);
  }
  const [oldest, oldestIndex] = known[0];
  const minutesAgo = Math.round((nowSeconds() - times[oldestIndex]) / 60);
  if (minutesAgo >= 1) parts.push(`${minutesAgo} ${minutesAgo === 1 ? "minute" : "minutes"} ago ${Math.round(oldest)}`);
  const numbers = known.map(([value]) => value);
  if (numbers.length > 2) {
    parts.push(`lowest ${Math.round(Math.min(...numbers))}, highest ${Math.round(Math.max(...numbers))}`);
  }
  setText(elements.timelineSummary, `${parts.join("; ")}.`);
}

// ---- Student detail -------------------------------------------------------------------------------

const detail = {
  student: null,
  opener: null,
  chart: null,
  name: elements.detail.querySelector("#detail-name"),
  state: elements.detail.querySelector(".detail-state"),
  note: elements.detail.querySelector(".detail-note"),
  chartBox: elements.detail.querySelector(".detail-chart"),
  chartSummary: elements.detail.querySelector(".detail-chart-summary"),
  reasons: elements.detail.querySelector(".detail-reasons"),
  metrics: elements.detail.querySelector(".detail-metrics"),
  rows: new Map(),
  shownState: null,
  shownReasons: null,
};

function openDetail(student, opener) {
  detail.student = student;
  detail.opener = opener;
  detail.shownState = null;
  detail.shownReasons = null;
  detail.rows.clear();
  detail.metrics.replaceChildren();
  elements.detail.dataset.studentId = String(student.id);
  if (!elements.detail.open) elements.detail.showModal();
  if (uPlot && !detail.chart) {
    detail.chart = makeChart(detail.chartBox, withGaps(student.history, STUDENT_GAP_S), {
      height: 160,
      label: "Engagement",
      range: seenWindow,
      legend: false,
    });
  }
  renderDetail();
}

elements.detail.addEventListener("close", () => {
  if (detail.chart) {
    detail.chart.stopResizing();
    detail.chart.destroy();
    detail.chart = null;
  }
  const { opener, student } = detail;
  detail.student = null;
  detail.opener = null;
  // The opener may be an alert trimmed meanwhile; then the student's card takes focus instead.
  const target = opener && opener.isConnected ? opener : student && student.card.open;
  if (target) target.focus();
});

function setMetric(key, label, value) {
  let row = detail.rows.get(key);
  if (!row) {
    row = { box: element("div"), value: element("dd") };
    row.box.append(element("dt", "", label), row.value);
    detail.metrics.append(row.box);
    detail.rows.set(key, row);
  }
  row.box.hidden = value === null || value === undefined;
  setText(row.value, row.box.hidden ? "" : String(value));
}

const fixed = (value, digits) => (isNumber(value) ? value.toFixed(digits) : null);

function renderDetail() {
  const student = detail.student;
  if (!student) return;
  const status = student.status || {};
  const state = displayState(student);
  setText(detail.name, student.name);
  if (state !== detail.shownState) {
    detail.state.replaceChildren(stateBadge(state), element("span", "muted", ` ${STATES[state].help}`));
    detail.shownState = state;
  }
  const notes = [];
  const silence = silenceText(student);
  if (silence) notes.push(`${silence}; the values below are the last ones received.`);
  if (state === "offline") notes.push("Not connected; the values below are the last ones received.");
  if (state === "paused") notes.push("Paused by the student; nothing is being measured.");
  if (!student.attentionRules) notes.push("Gaze and head-pose rules are off for this student (accommodation).");
  detail.note.hidden = notes.length === 0;
  setText(detail.note, notes.join(" "));

  const reasons = state === "offline" ? [] : status.reasons || [];
  const reasonsKey = reasons.join("\n");
  if (reasonsKey !== detail.shownReasons) {
    detail.reasons.replaceChildren(
      ...(reasons.length ? reasons.map((r) => element("li", "", capitalise(r))) : [element("li", "muted", "None reported.")]),
    );
    detail.shownReasons = reasonsKey;
  }

  const head = status.head || {};
  const gaze = status.gaze || {};
  const expression = status.expression;
  const quality = status.quality || {};
  setMetric("engagement", "Engagement", isNumber(status.engagement) ? `${Math.round(status.engagement)} of 100` : "–");
  setMetric("confidence", "Confidence", status.confidence || "–");
  setMetric("blinks", "Blinks", isNumber(status.blinks) ? String(status.blinks) : "–");
  setMetric("blink-rate", "Blink rate", isNumber(status.blink_rate_per_min) ? `${fixed(status.blink_rate_per_min, 1)} per minute` : "–");
  setMetric("ear", "Eye aspect ratio (EAR)", fixed(status.ear, 3) ?? "–");
  setMetric("perclos", "Eyes closed, last minute", isNumber(status.perclos) ? `${Math.round(status.perclos * 100)}%` : null);
  setMetric(
    "head",
    "Head (yaw, pitch, roll)",
    isNumber(head.yaw) ? `${fixed(head.yaw, 0)}°, ${fixed(head.pitch, 0) ?? "–"}°, ${fixed(head.roll, 0) ?? "–"}°` : null,
  );
  setMetric("gaze", "Gaze (x, y)", isNumber(gaze.x) ? `${fixed(gaze.x, 2)}, ${fixed(gaze.y, 2) ?? "–"}` : null);
  setMetric("faces", "Faces in view", isNumber(status.faces) ? String(status.faces) : null);
  setMetric(
    "expression",
    "Expression (smile, confusion)",
    expression && isNumber(expression.smile) ? `${fixed(expression.smile, 2)}, ${fixed(expression.confusion, 2) ?? "–"}` : null,
  );
  setMetric(
    "quality",
    "Picture (face size, brightness)",
    isNumber(quality.face_px) ? `${Math.round(quality.face_px)} px, ${Math.round(quality.brightness ?? 0)}` : null,
  );
  setMetric("processing", "Analysis time", isNumber(status.processing_ms) ? `${fixed(status.processing_ms, 0)} ms` : null);
  setMetric("updated", "Last update", ago(student.receivedAt));

  if (detail.chart) detail.chart.setData(withGaps(student.history, STUDENT_GAP_S));
  const values = student.history[1];
  setText(
    detail.chartSummary,
    values.length
      ? `${values.length} ${values.length === 1 ? "point" : "points"}; now ${Math.round(values[values.length - 1])}, ` +
          `lowest ${Math.round(Math.min(...values))}, highest ${Math.round(Math.max(...values))}.`
      : "Nothing measured since this page opened.",
  );
}

// ---- Connection -----------------------------------------------------------------------------------

const CONNECTION_ICONS = { connecting: "refresh-cw", open: "wifi", reconnecting: "wifi-off", refused: "ban" };
const RECONNECTING_TEXT = "Connection lost; cards show the last known state. Reconnecting";

// #connection is a live region: its words change only when the status does (one announcement per change),
// and `countdown`, the only thing that changes between retries, is hidden from screen readers. `extra` (a
// link) goes after the words.
function setConnection(status, text, countdown = "", extra = []) {
  const box = elements.connection;
  if (box.dataset.status !== status) {
    box.dataset.status = status;
    const ticking = element("span", "connection-countdown");
    ticking.setAttribute("aria-hidden", "true");
    box.replaceChildren(icon(CONNECTION_ICONS[status]), element("span", "connection-text", text), ticking, ...extra);
  } else {
    setText(box.querySelector(".connection-text"), text);
  }
  setText(box.querySelector(".connection-countdown"), countdown);
  elements.cards.classList.toggle("is-stale", status !== "open");
}

function connect() {
  clearTimeout(socketState.retryTimer);
  socketState.retryAt = null;
  // Retries stay "reconnecting": flipping to "connecting" and back would be two announcements per attempt.
  if (elements.connection.dataset.status === "reconnecting") setConnection("reconnecting", RECONNECTING_TEXT, " now…");
  else setConnection("connecting", "Connecting…");
  const socket = new WebSocket(socketUrl(config.wsPath));
  socketState.socket = socket;
  socket.addEventListener("message", (message) => {
    if (socketState.socket !== socket) return; // a socket this page has already given up on
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    handleEvent(event);
  });
  socket.addEventListener("close", (closed) => {
    if (socketState.socket !== socket) return;
    socketState.socket = null;
    socketState.live = false;
    if (socketState.refused || REFUSAL_CLOSE_CODES.has(closed.code)) {
      if (!socketState.refused) refuse(REFUSAL_MESSAGES[closed.code], closed.code === 4401);
      return;
    }
    scheduleReconnect();
  });
}

function loginLink() {
  const url = new URL(elements.connection.dataset.loginUrl || "/accounts/login/", location.href);
  url.searchParams.set("next", location.pathname);
  const link = element("a", "connection-login", "Log in");
  link.href = url.href;
  return link;
}

function refuse(message, needsLogin = false) {
  socketState.refused = true;
  socketState.live = false;
  clearTimeout(socketState.retryTimer);
  socketState.retryAt = null;
  const extra = needsLogin ? [document.createTextNode(" "), loginLink()] : [];
  setConnection("refused", `Not connected: ${message || "the server refused this page."}`, "", extra);
}

// Backoff and jitter are live-socket.js's, shared with the student page.
function scheduleReconnect() {
  socketState.attempt += 1;
  const delay = retryDelayMs(socketState.attempt);
  socketState.retryAt = Date.now() + delay;
  socketState.retryTimer = setTimeout(connect, delay);
  showRetryCountdown();
}

function showRetryCountdown() {
  if (socketState.retryAt === null) return;
  const seconds = Math.max(1, Math.ceil((socketState.retryAt - Date.now()) / 1000));
  setConnection("reconnecting", RECONNECTING_TEXT, ` in ${seconds} s…`);
}

function handleEvent(event) {
  updatesReceived += 1;
  document.body.dataset.updates = String(updatesReceived);
  switch (event.type) {
    case "snapshot":
      onSnapshot(event);
      break;
    case "student.joined":
    case "student.update":
      if (event.student) applyStatus(event.student, { connected: true });
      break;
    case "student.left":
      if (event.student) applyStatus(event.student, { connected: false });
      break;
    case "alert":
      addAlert(event);
      break;
    case "error":
      refuse(event.message, event.code === "not_authenticated");
      break;
    default:
      return;
  }
  renderCounts();
}

// A fresh picture of who is streaming: anyone not in it is not connected (they may have left while we were away).
function onSnapshot(event) {
  socketState.attempt = 0;
  socketState.live = true;
  setConnection("open", "Live");
  if (event.classroom && typeof event.classroom.expressions === "boolean") buildCounts(event.classroom.expressions);
  const streaming = new Set();
  for (const status of event.students || []) {
    streaming.add(status.id);
    applyStatus(status, { connected: true });
  }
  for (const student of students.values()) {
    if (!streaming.has(student.id) && student.connected) {
      student.connected = false;
      renderCard(student);
      if (detail.student === student) renderDetail();
      orderDirty = true;
    }
  }
  placeCards();
}

window.addEventListener("online", () => {
  if (socketState.retryAt !== null) connect();
});

// ---- Start ----------------------------------------------------------------------------------------

// Also where a student who went silent turns "waiting" (and back is applyStatus's): cards, counts, detail.
function everySecond() {
  for (const student of students.values()) renderCard(student);
  renderCounts();
  if (detail.student) renderDetail();
  if (orderDirty) placeCards();
  showRetryCountdown();
}

function start() {
  buildCounts(Boolean(config.classroom.expressions));
  for (const member of config.members || []) addStudent(member);
  placeCards("start");
  renderCounts();
  elements.sort.addEventListener("change", () => placeCards("sort"));
  seedClassTimeline();
  renderClassTimeline();
  connect();
  setInterval(everySecond, 1000);
  setInterval(sampleClass, CLASS_SAMPLE_EVERY_MS);
  loadChartLibrary().then(() => {
    elements.timeline.dataset.chart = uPlot ? "uplot" : "text";
    if (uPlot) {
      classChart = makeChart(elements.timeline.querySelector(".timeline-chart"), withGaps(classSeries, CLASS_GAP_S), {
        height: 200,
        label: "Class engagement",
        range: fullWindow,
        legend: true,
      });
    }
  });
}

start();
