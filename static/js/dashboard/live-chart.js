// The dashboard's uPlot charts (class timeline, student detail): engagement 0-100 over the last minutes.
import { keepWidth, loadUPlot, themeColour } from "../charts.js";
import { clockTime } from "../dom.js";
import { timeZone } from "./config.js";

let uPlot = null;

export async function loadChartLibrary(src) {
  uPlot = await loadUPlot(src);
  // No Node.js at set-up means no uPlot; the text summaries carry the same information.
  if (!uPlot) console.warn("Engagement chart unavailable, showing text only.");
  return uPlot;
}

export const chartsAvailable = () => uPlot !== null;

// A null between points further apart than `maxStep` seconds, so the line breaks where nothing was measured
// (server buckets nobody filled, a dropped socket, a paused student) instead of bridging it.
export function withGaps([times, ...columns], maxStep) {
  const outTimes = [];
  const outColumns = columns.map(() => []);
  times.forEach((t, index) => {
    if (index && t - times[index - 1] > maxStep) {
      outTimes.push((t + times[index - 1]) / 2);
      outColumns.forEach((column) => column.push(null));
    }
    outTimes.push(t);
    outColumns.forEach((column, c) => column.push(columns[c][index]));
  });
  return [outTimes, ...outColumns];
}

// `series`: [{label, dashed}] for the columns after time. Returns the chart, with stopResizing().
export function makeChart(container, data, { height, series, range, legend }) {
  const accent = themeColour("--accent");
  const muted = themeColour("--muted");
  const line = themeColour("--line");
  const axis = { stroke: muted, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 } };
  // HH:MM (HH:MM:SS below a minute), in the class's time zone: uPlot's default labels repeat the date.
  const timeAxis = {
    ...axis,
    space: 60,
    incrs: [10, 15, 30, 60, 120, 300, 600],
    values: (u, splits, axisIndex, space, increment) =>
      splits.map((t) => clockTime(new Date(t * 1000), timeZone).slice(0, increment < 60 ? 8 : 5)),
  };
  const chart = new uPlot(
    {
      width: Math.max(200, container.clientWidth),
      height,
      scales: { x: { time: true, range }, y: { range: [0, 100] } },
      axes: [timeAxis, { ...axis, size: 40 }],
      legend: { show: legend, live: false },
      series: [
        { label: "Time", value: (u, t) => (t === null ? "–" : clockTime(new Date(t * 1000), timeZone)) },
        ...series.map(({ label, dashed }) => ({
          label,
          stroke: dashed ? muted : accent,
          dash: dashed ? [6, 4] : undefined,
          width: 2,
          fill: dashed ? undefined : `${accent}1f`,
          value: (u, v) => (v === null ? "–" : String(Math.round(v))),
        })),
      ],
    },
    data,
    container,
  );
  // The text beside it says the same; the canvas alone would be silent to screen readers.
  chart.root.setAttribute("aria-hidden", "true");
  chart.stopResizing = keepWidth(chart, container, height);
  return chart;
}
