// Sends what the camera sees, paced by the server's answers: a JPEG frame, or (on-device.js) the face model's
// measurements of one. The next message goes when the last one's feedback arrives, never sooner than the frame-rate
// cap, and after ANSWER_TIMEOUT_MS without an answer anyway (docs/protocol.md, "Fresh frames, not a queue"), at the
// same pace in a background tab (pacer.js).
import { Pacer } from "./pacer.js";

// Feedback normally comes back well within this; after it, a message or its answer was lost, so send anyway.
export const ANSWER_TIMEOUT_MS = 2000;
// A few frames' worth: more waiting in the socket means the network is not keeping up, so skip a frame.
const MAX_BUFFERED_BYTES = 256 * 1024;
// Captures that fail in a row (the model's WebAssembly failing, a canvas that cannot encode) before the source is
// told it keeps failing: one failure is only a lost frame, and the next is tried as usual.
export const FAILURES_BEFORE_GIVING_UP = 5;

export class FrameSender {
  // `source.capture(video)` makes one message (an ArrayBuffer, or null for none), and `source.keepsFailing(error)`,
  // when it has one, hears when its captures keep failing; `canSend()` says whether the camera is on and the socket
  // open; `socket` is the page's LiveSocket.
  constructor({ maxFps, camera, socket, canSend }) {
    this.capGapMs = 1000 / Math.max(1, Number(maxFps) || 10);
    this.minGapMs = this.capGapMs;
    Object.assign(this, { camera, socket, canSend });
    this.source = null;
    this.pacer = new Pacer();
    this.lastSentAt = -Infinity;
    this.awaitingAnswer = false;
    this.capturing = false;
    this.failures = 0; // captures of the current source that failed in a row
  }

  // What to send from now on; the next message is made by it.
  use(source) {
    this.source = source;
    this.failures = 0;
  }

  // The next message, when its time comes; nothing while the page cannot send.
  schedule() {
    this.pacer.cancel();
    if (!this.ready()) return;
    const gap = this.awaitingAnswer ? Math.max(ANSWER_TIMEOUT_MS, this.minGapMs) : this.minGapMs;
    const wait = Math.max(0, this.lastSentAt + gap - performance.now());
    this.pacer.after(wait, () => this.sendNext());
  }

  // The server answered (feedback or an error about the last message): the next may go. A saturated server
  // names each student's fair share (`fairFps`, docs/protocol.md); sending faster would only be replaced.
  answered(fairFps = null) {
    this.minGapMs = fairFps > 0 ? Math.max(this.capGapMs, 1000 / fairFps) : this.capGapMs;
    this.awaitingAnswer = false;
    this.schedule();
  }

  // A new socket, or a resumed camera: nothing is outstanding.
  restart() {
    this.awaitingAnswer = false;
    this.schedule();
  }

  stop() {
    this.pacer.cancel();
    this.awaitingAnswer = false;
  }

  ready() {
    return this.source !== null && this.canSend();
  }

  async sendNext() {
    if (!this.ready() || this.capturing) return;
    if (this.socket.bufferedAmount > MAX_BUFFERED_BYTES || !this.camera.ready) {
      this.pacer.after(this.minGapMs, () => this.sendNext());
      return;
    }
    const source = this.source;
    this.capturing = true;
    this.lastSentAt = performance.now();
    try {
      const message = await source.capture(this.camera.video);
      if (source === this.source) this.failures = 0;
      // The page may have paused, lost its socket or changed what it sends while the message was being made.
      if (message && this.ready() && source === this.source && this.socket.send(message)) {
        this.awaitingAnswer = true;
      }
    } catch (error) {
      this.captureFailed(source, error);
    } finally {
      this.capturing = false;
    }
    // Whatever happened to this frame, the stream goes on: without this the page would stop sending, silently.
    this.schedule();
  }

  captureFailed(source, error) {
    if (source !== this.source) return; // the page moved on from that source meanwhile
    this.failures += 1;
    // Which error, never what was captured. Once a run reaches the limit it is not repeated for every frame.
    if (this.failures <= FAILURES_BEFORE_GIVING_UP) {
      console.warn(`SmartSession: no message from this frame (${this.failures} failed in a row): ${error}`);
    }
    if (this.failures === FAILURES_BEFORE_GIVING_UP) source.keepsFailing?.(error);
  }
}
