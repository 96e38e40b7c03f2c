// A class whose faces are analysed on the students' own devices (docs/protocol.md, "On-device measurements"):
// loading the face model with its progress, sending its measurements, and what happens when this device cannot
// (pictures to the server where the class allows it, else nothing) or the teacher changes the class's mode.
import { icon } from "../states.js";
import { CannotAnalyse, DeviceMeasurements, loadFaceAnalyser } from "./on-device.js";

const megabytes = (bytes) => (bytes / 1e6).toFixed(1);
// With no total known (a compressed download), progress is shown every this many bytes.
const UNKNOWN_TOTAL_STEP = 3e6;

export class DeviceAnalysis {
  // `show(mode, ...words)` puts the page in a mode (loading | device | frames | none) with its words; `sender` is
  // the page's FrameSender; `jpegFrames()` the pictures source for a fallback; `reloadLink()` a link to reload.
  constructor({ analysis, sender, jpegFrames, show, isLeaving, reloadLink }) {
    Object.assign(this, { analysis, sender, jpegFrames, show, isLeaving, reloadLink });
    this.analyser = null; // on-device.js FaceAnalyser, once loaded
  }

  // The runtime and the model load as soon as the page opens, while the student reads it and starts the camera;
  // nothing is sent before they have.
  async prepare() {
    this.show("loading", "Loading the face model for this device…");
    // The status line is a live region: it changes every fifth of the download (every UNKNOWN_TOTAL_STEP bytes when
    // the total is unknown), not with every chunk, so a screen reader is not talked over.
    let shownMark = -1;
    try {
      this.analyser = await loadFaceAnalyser(this.analysis, ({ step, received, total }) => {
        if (step === "starting") {
          this.show("loading", "Starting the face model…");
          return;
        }
        const mark = total ? Math.floor((5 * received) / total) : Math.floor(received / UNKNOWN_TOTAL_STEP);
        if (mark === shownMark) return;
        shownMark = mark;
        const of = total ? ` of ${megabytes(total)}` : "";
        this.show("loading", `Loading the face model for this device: ${megabytes(received)}${of} MB`);
      });
    } catch (error) {
      console.warn("SmartSession: on-device analysis unavailable:", error, error?.cause);
      if (error instanceof CannotAnalyse) this.cannot(error.message, { network: error.network });
      else this.cannot("the face model could not start");
      return;
    }
    if (this.isLeaving()) {
      this.close();
      return;
    }
    document.body.dataset.modelLoadMs = String(Math.round(this.analyser.loadMs));
    this.show("device", icon("shield-check"), "Your face is analysed on this device: no picture leaves it, only the "
      + "measurements.");
    this.sender.use(new DeviceMeasurements(this.analyser, {
      onTooSlow: () => this.cannot(`it analyses fewer than ${this.analysis.minFps} pictures a second here`),
      onFailing: () => this.cannot("the face model keeps failing here"),
    }));
    this.sender.schedule();
  }

  // `network`: the model could not be loaded (reloading may help), rather than this device being unable to run it.
  cannot(reason, { network = false } = {}) {
    this.close();
    const why = network ? `The face model could not be loaded: ${reason}.`
      : `This device cannot analyse your face itself: ${reason}.`;
    if (this.analysis.frameFallback) {
      const retry = network ? [" ", this.reloadLink(), " to try again."] : [];
      this.show("frames", icon("info"), `${why} Pictures from your camera go to the server for analysis instead, `
        + "as in other classes; they are never stored.", ...retry);
      this.sender.use(this.jpegFrames());
      this.sender.schedule();
    } else {
      this.sender.use(null);
      const what = `${why} This class analyses faces on the students' own devices only, so nothing is sent and you `
        + "are not monitored.";
      this.show("none", icon("triangle-alert"), what, ...(network
        ? [" ", this.reloadLink(), " to try again; if it keeps failing, tell your teacher."]
        : [" A recent Chrome, Edge, Firefox or Safari on a computer can do it; or tell your teacher."]));
    }
  }

  // The teacher changed where this class analyses faces while the page was open (docs/protocol.md, frames_off and
  // measurements_off). The page never starts sending pictures on its own: the student reloads and reads what
  // changed.
  changed({ message }) {
    this.close();
    this.sender.use(null);
    this.show("none", icon("info"), `${message} Your teacher changed how this class analyses faces. `,
      this.reloadLink(), " to read what that means and carry on.");
  }

  close() {
    this.analyser?.close();
    this.analyser = null;
  }
}
