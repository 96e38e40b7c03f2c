// One student's live detail, in a dialog: state and why, a chart since this page opened, every measurement.
import { capitalise, element, isNumber, setText } from "../dom.js";
import { SMILE_RISE_HAPPY } from "../definitions.js";
import { STATES, stateBadge } from "../states.js";
import { chartsAvailable, makeChart, withGaps } from "./live-chart.js";
import { WINDOW_S, ago, currentEngagement, displayState, nowSeconds, silenceText } from "./roster.js";

const STUDENT_GAP_S = 10;
const dialog = document.getElementById("student-detail");
const detail = {
  student: null,
  opener: null,
  chart: null,
  name: dialog.querySelector("#detail-name"),
  state: dialog.querySelector(".detail-state"),
  note: dialog.querySelector(".detail-note"),
  chartBox: dialog.querySelector(".detail-chart"),
  chartSummary: dialog.querySelector(".detail-chart-summary"),
  reasons: dialog.querySelector(".detail-reasons"),
  metrics: dialog.querySelector(".detail-metrics"),
  rows: new Map(),
  shownState: null,
  shownReasons: null,
};

// A student's chart spans what this page has seen of them, at least a minute.
const pageOpenedAt = nowSeconds();
const seenWindow = () => {
  const span = Math.min(WINDOW_S, Math.max(60, nowSeconds() - pageOpenedAt));
  return [nowSeconds() - span, nowSeconds()];
};

export const detailOf = () => detail.student;

export function openDetail(student, opener) {
  detail.student = student;
  detail.opener = opener;
  detail.shownState = null;
  detail.shownReasons = null;
  detail.rows.clear();
  detail.metrics.replaceChildren();
  dialog.dataset.studentId = String(student.id);
  if (!dialog.open) dialog.showModal();
  if (chartsAvailable() && !detail.chart) {
    detail.chart = makeChart(detail.chartBox, withGaps(student.history, STUDENT_GAP_S), {
      height: 160,
      series: [{ label: "Engagement", dashed: false }],
      range: seenWindow,
      legend: false,
    });
  }
  renderDetail();
}

dialog.addEventListener("close", () => {
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

export function renderDetail() {
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
  if (state === "paused") notes.push("Paused by the student; nothing is being measured, and the values below are the last ones received.");
  if (!student.attentionRules) notes.push("Gaze and head-pose rules are off for this student (accommodation).");
  detail.note.hidden = notes.length === 0;
  setText(detail.note, notes.join(" "));

  // Reasons describe the picture of now: none while nothing is measured.
  const reasons = state === "offline" || state === "paused" ? [] : status.reasons || [];
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
  // Below the resting face for a moment after a smile, while the resting face follows, and mid-sentence, when the
  // jaw lowers the mouth's corners: shown as 0.
  const smileRise = isNumber(expression?.smile_rise) ? Math.max(0, expression.smile_rise) : null;
  setMetric(
    "expression",
    `Smile over their resting face (happy at ${fixed(SMILE_RISE_HAPPY, 1)}); confusion (experimental)`,
    expression && isNumber(expression.confusion) ? `${fixed(smileRise, 1) ?? "–"}; ${fixed(expression.confusion, 2)}` : null,
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
  // "now" only while the student is measured now; otherwise the last point is only the latest.
  const newest = currentEngagement(student) === null ? "latest" : "now";
  setText(
    detail.chartSummary,
    values.length
      ? `${values.length} ${values.length === 1 ? "point" : "points"}; ${newest} ${Math.round(values[values.length - 1])}, ` +
          `lowest ${Math.round(Math.min(...values))}, highest ${Math.round(Math.max(...values))}.`
      : "Nothing measured since this page opened.",
  );
}
