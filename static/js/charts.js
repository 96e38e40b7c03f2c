// uPlot for the pages that draw charts. Its minified build is a classic script (51 KB against the ES
// module's 145 KB unminified), so it is added as a <script> once and read from window.uPlot.
// Resolves to null when it cannot load (no Node.js at set-up, so no node_modules): every chart on our
// pages has a text alternative, and the page carries on with that.
let loading = null;

export function loadUPlot(src) {
  loading ??= new Promise((resolve) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = () => resolve(window.uPlot ?? null);
    script.onerror = () => resolve(null);
    document.head.append(script);
  });
  return loading;
}

// A colour of the page's theme (smartsession.css custom properties), with the same colour as a fallback for a
// browser or a moment where the stylesheet has not answered.
const FALLBACKS = { "--accent": "#2457c5", "--muted": "#5b6575", "--line": "#d5dbe5" };

export function themeColour(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || FALLBACKS[name];
}

// Keeps a chart as wide as its container; returns a function that stops it.
export function keepWidth(chart, container, height) {
  const resize = new ResizeObserver(() => {
    const width = Math.max(200, container.clientWidth);
    if (width !== chart.width) chart.setSize({ width, height });
  });
  resize.observe(container);
  return () => resize.disconnect();
}
