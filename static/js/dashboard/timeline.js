// The class's engagement over the last 10 minutes. The page starts with the stored points (from the record,
// each labelled with its time) and adds a live point every 5 s from the students connected now. Only a live
// point is ever called "now".
import { clockTime, isNumber, setText } from "../dom.js";
import { config, timeZone } from "./config.js";
import { chartsAvailable, makeChart, withGaps } from "./live-chart.js";
import { WINDOW_S, currentEngagement, link, nowSeconds, students, trimSeries } from "./roster.js";

export const CLASS_SAMPLE_EVERY_MS = 5000;
// Points further apart than this are not joined by the line: the server's buckets are 10 s, our samples 5 s.
const CLASS_GAP_S = 30;
// A live point older than this no longer says anything about now.
const NOW_WITHIN_S = 2 * (CLASS_SAMPLE_EVERY_MS / 1000);

const figure = document.getElementById("timeline");
const summary = document.getElementById("timeline-summary");
// t, stored mean engagement, live mean engagement (null: nobody measured), students measured
const series = [[], [], [], []];
let chart = null;

export function seedTimeline(points) {
  for (const point of [...(points || [])].sort((a, b) => a.t - b.t)) {
    series[0].push(point.t);
    series[1].push(isNumber(point.engagement) ? point.engagement : null);
    series[2].push(null);
    series[3].push(point.students ?? null);
  }
  trimSeries(series);
}

// Connected, unpaused students with a state; a gap (null) while nobody is measured or the socket is down.
export function sampleClass() {
  const measured = link.live ? [...students.values()].map(currentEngagement).filter((value) => value !== null) : [];
  const mean = measured.length ? measured.reduce((sum, value) => sum + value, 0) / measured.length : null;
  series[0].push(nowSeconds());
  series[1].push(null);
  series[2].push(mean === null ? null : Math.round(mean * 10) / 10);
  series[3].push(measured.length);
  trimSeries(series);
  renderTimeline();
}

const plural = (n, word) => `${n} ${n === 1 ? word : `${word}s`}`;
const at = (t) => clockTime(new Date(t * 1000), timeZone);

// The newest point that has a value: [value, index, stored?], or null.
function newestKnown() {
  for (let index = series[0].length - 1; index >= 0; index -= 1) {
    if (series[2][index] !== null) return [series[2][index], index, false];
    if (series[1][index] !== null) return [series[1][index], index, true];
  }
  return null;
}

export function renderTimeline() {
  const [times, stored, live, counts] = series;
  figure.dataset.points = String(times.length);
  if (chart) chart.setData(withGaps([times, stored, live], CLASS_GAP_S));

  const values = times.map((_, index) => live[index] ?? stored[index]).filter((value) => value !== null);
  const newest = newestKnown();
  if (!newest) {
    setText(summary, "No engagement measured in the last 10 minutes.");
    return;
  }
  const parts = [];
  const [value, index, isStored] = newest;
  const last = times.length - 1;
  if (!isStored && index === last && nowSeconds() - times[last] <= NOW_WITHIN_S) {
    parts.push(`Class engagement now ${Math.round(value)} (${plural(counts[last], "student")} connected and measured)`);
  } else {
    const who = isNumber(counts[index]) ? `, ${plural(counts[index], "student")}` : "";
    const source = isStored ? "last stored point" : "last measured";
    parts.push(`No student measured now; ${source} ${Math.round(value)} at ${at(times[index])}${who}`);
  }
  if (values.length > 2) {
    parts.push(`lowest ${Math.round(Math.min(...values))}, highest ${Math.round(Math.max(...values))} in 10 minutes`);
  }
  setText(summary, `${parts.join("; ")}.`);
}

export function drawTimelineChart() {
  figure.dataset.chart = chartsAvailable() ? "uplot" : "text";
  if (!chartsAvailable()) return;
  chart = makeChart(figure.querySelector(".timeline-chart"), withGaps(series.slice(0, 3), CLASS_GAP_S), {
    height: 150,
    series: [
      { label: "Stored (from the record)", dashed: true },
      { label: "Live (connected now)", dashed: false },
    ],
    range: () => [nowSeconds() - WINDOW_S, nowSeconds()],
    legend: true,
  });
}

export function setUpTimeline() {
  seedTimeline(config.timeline);
  renderTimeline();
}
