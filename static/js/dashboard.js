// The teacher's live view of one class: the lesson, a card per student, counts per state, the lesson's alerts,
// and the class's engagement over the last 10 minutes, fed by the teacher socket (docs/protocol.md).
// Each part is a small module in dashboard/; this one wires them together.
import { addAlert, setUpAlerts } from "./dashboard/alerts.js";
import { addCard, markOrderDirty, placeCards, renderCard, setUpCards } from "./dashboard/cards.js";
import { config } from "./dashboard/config.js";
import { connectionLive, openConnection } from "./dashboard/connection.js";
import { buildCounts, renderCounts } from "./dashboard/counts.js";
import { detailOf, openDetail, renderDetail } from "./dashboard/detail.js";
import { refreshLesson, setUpLesson, streaming } from "./dashboard/lesson.js";
import { loadChartLibrary } from "./dashboard/live-chart.js";
import { addStudent, applyStatus, students } from "./dashboard/roster.js";
import { CLASS_SAMPLE_EVERY_MS, drawTimelineChart, sampleClass, setUpTimeline } from "./dashboard/timeline.js";

let updatesReceived = 0;
document.body.dataset.updates = "0";

function showStatus(status, connected) {
  const known = students.has(status.id);
  const { student, reorder } = applyStatus(status, { connected });
  if (!known) addCard(student);
  renderCard(student);
  if (reorder) markOrderDirty();
  if (detailOf() === student) renderDetail();
}

let sampledYet = false;

// A fresh picture of who is streaming: anyone not in it is not connected (they may have left while we were away).
function onSnapshot(event) {
  connectionLive();
  if (event.classroom && typeof event.classroom.expressions === "boolean") buildCounts(event.classroom.expressions);
  const streaming = new Set();
  for (const status of event.students || []) {
    streaming.add(status.id);
    showStatus(status, true);
  }
  for (const student of students.values()) {
    if (!streaming.has(student.id) && student.connected) {
      student.connected = false;
      renderCard(student);
      if (detailOf() === student) renderDetail();
      markOrderDirty();
    }
  }
  placeCards();
  // The timeline's first live point now, not CLASS_SAMPLE_EVERY_MS later: until then it said nobody was measured.
  if (!sampledYet) {
    sampledYet = true;
    sampleClass();
  }
}

function handleEvent(event) {
  updatesReceived += 1;
  document.body.dataset.updates = String(updatesReceived);
  switch (event.type) {
    case "snapshot":
      onSnapshot(event);
      break;
    case "student.joined":
      if (event.student) showStatus(event.student, true);
      refreshLesson(); // a stream starting may have opened a lesson
      break;
    case "student.update":
      if (event.student) showStatus(event.student, true);
      streaming();
      break;
    case "student.left":
      if (event.student) showStatus(event.student, false);
      break;
    case "alert":
      addAlert(event);
      break;
    default:
      return;
  }
  renderCounts();
}

// Also where a student who went silent turns "waiting" (and back is showStatus's): cards, counts, detail.
function everySecond() {
  for (const student of students.values()) renderCard(student);
  renderCounts();
  if (detailOf()) renderDetail();
  placeCards();
}

function start() {
  buildCounts(Boolean(config.classroom.expressions));
  for (const member of config.members || []) addCard(addStudent(member));
  setUpCards({ open: openDetail });
  placeCards("start");
  renderCounts();
  setUpAlerts({ stored: config.alerts, open: openDetail });
  setUpLesson();
  setUpTimeline();
  openConnection(handleEvent);
  setInterval(everySecond, 1000);
  setInterval(sampleClass, CLASS_SAMPLE_EVERY_MS);
  loadChartLibrary(document.getElementById("timeline").dataset.uplotSrc).then(drawTimelineChart);
}

start();
