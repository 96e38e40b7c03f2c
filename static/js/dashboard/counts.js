// How many students are in each state now, as a row of badges with numbers.
import { element, setText } from "../dom.js";
import { STATES } from "../states.js";
import { STATE_ORDER, plainBadge } from "./cards.js";
import { displayState, students } from "./roster.js";

const container = document.getElementById("counts");
const countElements = new Map();
let builtForExpressions = null; // the class's `expressions` the counts bar was built for

// An expression-free class has no happy or confused students: no counts for them. Rebuilt only on a change.
export function buildCounts(expressions) {
  if (expressions === builtForExpressions) return;
  builtForExpressions = expressions;
  countElements.clear();
  container.replaceChildren();
  const shown = expressions ? STATE_ORDER : STATE_ORDER.filter((s) => s !== "happy" && s !== "confused");
  for (const state of shown) {
    const item = element("li", `count-item state-${state}`);
    const count = element("span", "count", "0");
    count.dataset.state = state;
    item.title = STATES[state].help;
    item.append(plainBadge(state), count);
    container.append(item);
    countElements.set(state, count);
  }
}

export function renderCounts() {
  const totals = new Map(STATE_ORDER.map((state) => [state, 0]));
  for (const student of students.values()) {
    const state = displayState(student);
    totals.set(state, totals.get(state) + 1);
  }
  for (const [state, count] of countElements) {
    const total = totals.get(state);
    setText(count, String(total));
    count.parentElement.classList.toggle("is-zero", total === 0);
  }
}
