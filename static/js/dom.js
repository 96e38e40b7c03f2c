// Small DOM helpers every page script uses.

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Live pages update up to ten times a second for a whole lesson: the page is touched only where it changed.
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export function capitalise(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

export const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

// HH:MM:SS in `timeZone` (an IANA name; the browser's own when not given).
export function clockTime(date, timeZone) {
  return date.toLocaleTimeString("en-GB", { hour12: false, timeZone: timeZone || undefined });
}
