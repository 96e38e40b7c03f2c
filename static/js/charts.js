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
