// The history charts (a session's page, a lesson's report): one uPlot chart per metric, drawn from the points
// embedded in the page with json_script (the id in the container's data-samples-id). Each figure's caption and
// the page's tables already say in text what the charts show, so if uPlot cannot load (no node_modules on
// this machine) only the picture is lost.

import { loadUPlot, themeColour } from "./charts.js";

const container = document.querySelector(".charts");
const samples = JSON.parse(document.getElementById(container.dataset.samplesId || "session-samples").textContent);
const CHART_HEIGHT = 220;

// The y scale of each metric: from 0, so that a small wobble does not look like a collapse.
const Y_RANGES = {
  engagement: () => [0, 100],
  ear: (u, min, max) => [0, Math.max(0.4, max ?? 0)],
  blink_rate_per_min: (u, min, max) => [0, Math.max(20, Math.ceil((max ?? 0) * 1.1))],
};
const VALUE_DIGITS = { engagement: 0, ear: 3, blink_rate_per_min: 1 };

function showFallback(message) {
  const note = document.getElementById("chart-note");
  note.textContent = message;
  note.hidden = false;
  for (const canvas of container.querySelectorAll(".chart-canvas")) canvas.hidden = true;
  const table = document.getElementById("samples-table");
  if (table) table.open = true;
}

async function loadCharts() {
  const uPlot = await loadUPlot(container.dataset.uplotSrc);
  if (!uPlot) {
    console.warn("uPlot could not be loaded; showing the samples table instead.");
    showFallback("The charts could not be drawn here (their library is not installed). The tables below say the same.");
  }
  return uPlot;
}

const TIME_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

function drawChart(uPlot, figure, accent) {
  const metric = figure.dataset.metric;
  const canvas = figure.querySelector(".chart-canvas");
  const timeZone = container.dataset.timeZone || "UTC";
  const tzDate = (ts) => uPlot.tzDate(new Date(ts * 1e3), timeZone);
  const times = samples.map((sample) => sample.t);
  const span = times.length ? times[times.length - 1] - times[0] : 0;
  // Seconds matter for a short session; on a lesson-long one they only crowd the axis.
  const axisTime = uPlot.fmtDate(span < 600 ? "{HH}:{mm}:{ss}" : "{HH}:{mm}");
  const fullTime = uPlot.fmtDate("{HH}:{mm}:{ss}");
  const digits = VALUE_DIGITS[metric] ?? 2;
  const options = {
    width: canvas.clientWidth,
    height: CHART_HEIGHT,
    tzDate,
    scales: { x: { time: true }, y: { range: Y_RANGES[metric] } },
    axes: [
      // space: the least pixels between ticks, so that our wider 24-hour labels do not run together.
      // incrs: whole seconds at least, so a short session's axis never shows the same second twice.
      { space: span < 600 ? 90 : 70, incrs: TIME_STEPS_S, values: (u, splits) => splits.map((ts) => axisTime(tzDate(ts))) },
      { size: 56 },
    ],
    series: [
      { label: "Time", value: (u, ts) => (ts == null ? "—" : fullTime(tzDate(ts))) },
      {
        label: figure.dataset.title,
        stroke: accent,
        width: 2,
        // A missing EAR means no face was seen: a gap says so, a line across it would invent values.
        spanGaps: false,
        points: { show: samples.length <= 60 },
        value: (u, value) => (value == null ? "—" : `${value.toFixed(digits)}${figure.dataset.unit}`),
      },
    ],
  };
  return new uPlot(options, [times, samples.map((sample) => sample[metric])], canvas);
}

const uPlot = await loadCharts();
if (uPlot) {
  const accent = themeColour("--accent");
  const charts = [...container.querySelectorAll("figure[data-metric]")].map((figure) => ({
    canvas: figure.querySelector(".chart-canvas"),
    plot: drawChart(uPlot, figure, accent),
  }));
  new ResizeObserver(() => {
    for (const { canvas, plot } of charts) plot.setSize({ width: canvas.clientWidth, height: CHART_HEIGHT });
  }).observe(container);
}
