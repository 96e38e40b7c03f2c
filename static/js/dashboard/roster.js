// The students of the class as this page knows them: the latest status of each, and what it means now.
// Only students connected now describe the present; everything else is labelled as the last known.
import { isNumber } from "../dom.js";
import { STATES } from "../states.js";

// A connected, unpaused student sends several updates a second while their camera runs: none for this long
// means no picture reaches the server (camera stopped, tab asleep), so the last state is no longer true.
const STALE_AFTER_MS = 6000;
export const WINDOW_S = 10 * 60;
const STUDENT_POINT_EVERY_S = 1; // the server sends up to 4 updates a second; one point a second is plenty

export const students = new Map(); // id -> student record, see addStudent()
// Whether the page's own socket is live: while it is down, nobody's state is known to be current.
export const link = { live: false };

export const nowSeconds = () => Date.now() / 1000;

// Keeps [t[], ...columns] to the last WINDOW_S seconds.
export function trimSeries(series, now = nowSeconds()) {
  let drop = 0;
  while (drop < series[0].length && series[0][drop] < now - WINDOW_S) drop += 1;
  if (drop) series.forEach((column) => column.splice(0, drop));
}

export function addStudent({ id, username, display_name: displayName, attention_rules: attentionRules = true }) {
  const student = {
    id,
    username,
    name: displayName || username || `Student ${id}`,
    attentionRules,
    connected: false,
    status: null, // the latest status object from the server
    receivedAt: null, // when it arrived, by this browser's clock (the server's may differ)
    history: [[], []], // [t seconds, engagement] since this page opened
  };
  students.set(id, student);
  return student;
}

// Connected and not paused, yet nothing from them for a while: their last state is out of date. Only judged
// while this page's own socket is live; when it is down, every card is marked stale as a whole.
export function isSilent(student) {
  return (
    link.live &&
    student.connected &&
    student.status !== null &&
    !student.status.paused &&
    student.receivedAt !== null &&
    Date.now() - student.receivedAt > STALE_AFTER_MS
  );
}

export function displayState(student) {
  if (!student.connected) return "offline";
  if (!student.status) return "waiting";
  if (student.status.paused) return "paused";
  if (isSilent(student)) return "waiting";
  return student.status.state in STATES ? student.status.state : "waiting";
}

export function duration(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h`;
}

export function ago(ms) {
  return ms === null ? "never" : `${duration(Date.now() - ms)} ago`;
}

// "No picture for 12 s" while a student who had a state has gone silent; null otherwise.
export function silenceText(student) {
  if (!isSilent(student) || !(student.status.state in STATES)) return null;
  return `No picture for ${duration(Date.now() - student.receivedAt)}`;
}

// The engagement that describes the student now: none while paused, waiting or away from the page.
export function currentEngagement(student) {
  const state = displayState(student);
  if (state === "offline" || state === "paused" || state === "waiting") return null;
  return isNumber(student.status.engagement) ? student.status.engagement : null;
}

// A status from the server. Returns the student, and whether what orders the cards changed.
export function applyStatus(status, { connected }) {
  const student = students.get(status.id) || addStudent(status);
  const before = { state: displayState(student), engagement: currentEngagement(student), name: student.name };
  student.connected = connected;
  student.status = status;
  // feedback_age_s: how old the status already was when the server sent it (a snapshot of a student whose
  // camera stopped a while ago), so a stale card is recognised at once rather than 6 s later.
  const ageMs = typeof status.feedback_age_s === "number" ? status.feedback_age_s * 1000 : 0;
  student.receivedAt = Date.now() - ageMs;
  if (status.display_name) student.name = status.display_name;
  // Older servers leave it out; then what the page was given at load (config.members) stands.
  if (typeof status.attention_rules === "boolean") student.attentionRules = status.attention_rules;
  recordStudentPoint(student);
  const reorder =
    displayState(student) !== before.state || currentEngagement(student) !== before.engagement || student.name !== before.name;
  return { student, reorder };
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
