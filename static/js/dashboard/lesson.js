// The lesson in progress, if any: the teacher starts and ends it here (plain forms), and a lesson that a
// student's stream opened, or that closed itself, shows up without a reload (the history API, polled).
import { clockTime, setText } from "../dom.js";
import { clearAlerts } from "./alerts.js";
import { config, timeZone } from "./config.js";

const POLL_EVERY_MS = 20000;
const ASK_AGAIN_AFTER_MS = 3000;
const panel = document.getElementById("lesson");
const status = document.getElementById("lesson-status");
const startForm = document.getElementById("lesson-start-form");
const endForm = document.getElementById("lesson-end-form");
const report = document.getElementById("lesson-report");
let shownId = config.lesson ? config.lesson.id : null;
let alertsOf = shownId; // the lesson whose alerts the panel shows; they stay after it ends, until the next one
let asking = false;
let askedAt = 0;

function describe(lesson) {
  const since = clockTime(new Date(lesson.started_at), timeZone);
  const how = lesson.opened_by_teacher ? "started by a teacher" : "opened when a student started streaming";
  return `Lesson in progress since ${since}, ${how}.`;
}

function show(lesson) {
  panel.dataset.state = lesson ? "open" : "none";
  startForm.hidden = Boolean(lesson);
  endForm.hidden = !lesson;
  report.hidden = !lesson;
  if (lesson) {
    setText(status, describe(lesson));
    endForm.elements.lesson.value = String(lesson.id);
    report.href = config.lessonReportUrl.replace(/\/0\/$/, `/${lesson.id}/`);
    // Another lesson's alerts go; a page opened with no lesson has none, and keeps what arrived live.
    if (alertsOf !== null && lesson.id !== alertsOf) clearAlerts();
    alertsOf = lesson.id;
  } else {
    setText(status, "No lesson in progress. One starts when you start it, or when a student starts streaming.");
  }
  shownId = lesson ? lesson.id : null;
}

// Asks the server which lesson is in progress now and shows it if it is not the one shown.
export async function refreshLesson() {
  if (asking) return;
  asking = true;
  askedAt = Date.now();
  try {
    const response = await fetch(config.lessonApiUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const body = await response.json();
    const lesson = (body.results || [])[0] || null;
    if ((lesson ? lesson.id : null) !== shownId) show(lesson);
  } catch {
    // Offline for a moment: the connection status says so; the next poll tries again.
  } finally {
    asking = false;
  }
}

// A student streams, so a lesson is in progress: if none is shown yet, ask (at most every few seconds). The
// stream's lesson opens with its first record, a moment after the student's socket joined.
export function streaming() {
  if (shownId !== null || Date.now() - askedAt < ASK_AGAIN_AFTER_MS) return;
  refreshLesson();
}

export function setUpLesson() {
  show(config.lesson);
  setInterval(refreshLesson, POLL_EVERY_MS);
}
