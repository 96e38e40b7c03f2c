// One timer for the frame loop that keeps its pace in a background tab. A student who opens the lesson's slides in
// another tab still has the camera on, but the browser then fires the page's own timers at most once a second (and,
// in Chrome, once a minute after five minutes), which is too slow to see a blink. A dedicated worker's timers are
// not held back, and its message wakes the page at once; the camera's <video> keeps giving fresh pictures meanwhile.
// Without workers, the page's own setTimeout does.
export class Pacer {
  constructor() {
    this.waiting = null; // {id, callback, timer}: the one callback due
    this.lastId = 0;
    try {
      this.worker = new Worker(new URL("./pacer-worker.js", import.meta.url));
      this.worker.addEventListener("message", ({ data: id }) => this.due(id));
      // A worker that cannot start (blocked, not found) never ticks: the page's own timers take over.
      this.worker.addEventListener("error", () => this.withoutWorker());
    } catch {
      this.worker = null;
    }
  }

  withoutWorker() {
    this.worker?.terminate();
    this.worker = null;
    const waiting = this.waiting;
    if (waiting) waiting.timer = setTimeout(() => this.due(waiting.id), 0);
  }

  // `callback` in `ms`, replacing any callback still waiting.
  after(ms, callback) {
    this.cancel();
    const id = ++this.lastId;
    this.waiting = { id, callback, timer: null };
    if (this.worker) this.worker.postMessage({ id, ms });
    else this.waiting.timer = setTimeout(() => this.due(id), ms);
  }

  cancel() {
    clearTimeout(this.waiting?.timer);
    this.waiting = null;
  }

  due(id) {
    if (this.waiting?.id !== id) return; // cancelled or replaced meanwhile
    const { callback } = this.waiting;
    this.waiting = null;
    callback();
  }
}
