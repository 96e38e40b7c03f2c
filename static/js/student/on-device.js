// On-device analysis: the face model (MediaPipe FaceLandmarker, the same model file the server verified) runs in
// the student's browser, and only its measurements are sent (measurement.js), never a picture.
// Everything comes from this server: the runtime (npm's @mediapipe/tasks-vision, as our static files) and the
// model (classroom/model_views.py). `settings` is config.analysis (classroom/views.py _analysis_config).
import { encodeMeasurement } from "./measurement.js";

// Cheek to cheek, as vision/face.py picks the largest face (CHEEK_POINTS).
const CHEEK_POINTS = [234, 454];
// The face box is shrunk to this many pixels a side to read its brightness: a mean needs no more.
const LUMA_SIDE = 16;
// Frames the rate check ignores at first: the first calls set the runtime up and are slow once.
const WARM_UP_FRAMES = 3;
// How long the rate is measured over before the device is judged too slow: a passing hiccup is not enough.
const SPEED_WINDOW_MS = 3000;

// Why the device cannot analyse, in words for the student. `network` when the cause was loading, not the device:
// reloading the page may then work.
export class CannotAnalyse extends Error {
  constructor(message, cause, { network = false } = {}) {
    super(message, { cause });
    this.name = "CannotAnalyse";
    this.network = network;
  }
}

export function webAssemblyAvailable() {
  return typeof WebAssembly === "object" && typeof WebAssembly.instantiate === "function";
}

// Why a download was stopped: nothing arrived for `seconds`.
class DownloadStalled extends Error {
  constructor(seconds) {
    super(`nothing arrived for ${seconds} s`);
    this.name = "DownloadStalled";
    this.seconds = seconds;
  }
}

// `promise`, or a rejection with DownloadStalled once `ms` pass first. For what cannot be aborted (a module import,
// the runtime's own loading): the page stops waiting for it.
function settledWithin(promise, ms) {
  let timer;
  const stalled = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new DownloadStalled(Math.round(ms / 1000))), ms);
  });
  return Promise.race([promise, stalled]).finally(() => clearTimeout(timer));
}

// Fetches `url` and reports bytes as they come: onProgress(received, total or 0 when unknown). When nothing
// arrives for `stallMs` (no answer, or a body that stops), it aborts `controller`, which the other download shares,
// and rejects with DownloadStalled; a slow download that keeps arriving runs to its end.
async function download(url, onProgress, { stallMs, controller }) {
  let timer;
  const expectData = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new DownloadStalled(Math.round(stallMs / 1000))), stallMs);
  };
  try {
    expectData();
    const response = await fetch(url, { credentials: "same-origin", signal: controller.signal });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    // A compressed answer (nginx's gzip_static) gives the compressed length, while the reader counts what it
    // decompressed: the total is then unknown.
    const total = response.headers.get("Content-Encoding") ? 0 : Number(response.headers.get("Content-Length")) || 0;
    if (!response.body) return new Uint8Array(await response.arrayBuffer());
    const reader = response.body.getReader();
    const chunks = [];
    let received = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      expectData();
      chunks.push(value);
      received += value.length;
      onProgress(received, total);
    }
    const bytes = new Uint8Array(received);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    return bytes;
  } catch (error) {
    // An aborted fetch or body rejects with an AbortError or with the reason, depending on the browser.
    throw controller.signal.reason instanceof DownloadStalled ? controller.signal.reason : error;
  } finally {
    clearTimeout(timer);
  }
}

// Loads the runtime and the model, reporting progress as onProgress({step, received, total}) with step
// "runtime", "model" or "starting"; resolves to a FaceAnalyser, or rejects with CannotAnalyse saying why.
export async function loadFaceAnalyser(settings, onProgress = () => {}) {
  if (!webAssemblyAvailable()) {
    throw new CannotAnalyse("this browser cannot run WebAssembly, which the face model needs");
  }
  const started = performance.now();
  const stallMs = settings.downloadStallMs;
  let vision;
  try {
    vision = await settledWithin(import(settings.runtime.module), stallMs);
  } catch (error) {
    throw new CannotAnalyse("its program did not load", error, { network: true });
  }
  const files = (await vision.FilesetResolver.isSimdSupported()) ? settings.runtime.simd : settings.runtime.noSimd;
  const sizes = { runtime: [0, 0], model: [0, 0] };
  const report = (step) => (received, total) => {
    sizes[step] = [received, total];
    const known = sizes.runtime[1] > 0 && sizes.model[1] > 0;
    const both = known ? sizes.runtime[1] + sizes.model[1] : 0;
    onProgress({ step, received: sizes.runtime[0] + sizes.model[0], total: both });
  };
  let wasmBinary;
  let model;
  const downloads = { stallMs, controller: new AbortController() };
  try {
    // Both at once, each with its progress; the runtime's own loader is handed the bytes, so nothing is fetched twice.
    [wasmBinary, model] = await Promise.all([
      download(files.wasmBinaryPath, report("runtime"), downloads),
      download(settings.runtime.model, report("model"), downloads),
    ]);
  } catch (error) {
    downloads.controller.abort(); // the other download, if it still runs, is no longer needed
    if (error instanceof DownloadStalled) {
      throw new CannotAnalyse(`the download stopped (${error.message})`, error, { network: true });
    }
    throw new CannotAnalyse("the download failed", error, { network: true });
  }
  onProgress({ step: "starting" });
  let creating;
  let landmarker;
  try {
    // tasks-vision hands a waiting `self.Module` to its Emscripten loader, which then compiles these bytes.
    self.Module = { wasmBinary: wasmBinary.buffer, print: nativeLog, printErr: nativeLog };
    creating = vision.FaceLandmarker.createFromOptions(files, {
      baseOptions: { modelAssetBuffer: model, delegate: "CPU" },
      runningMode: "VIDEO",
      numFaces: settings.landmarker.numFaces,
      minFaceDetectionConfidence: settings.landmarker.minFaceDetectionConfidence,
      minFacePresenceConfidence: settings.landmarker.minFacePresenceConfidence,
      outputFaceBlendshapes: true,
      outputFacialTransformationMatrixes: true,
    });
    // The runtime fetches its loader script itself: a stall there must not leave the page "starting" for ever.
    landmarker = await settledWithin(creating, 2 * stallMs);
  } catch (error) {
    if (error instanceof DownloadStalled) {
      creating.then((late) => late.close(), () => {}); // should it start after all, nothing is left running
      throw new CannotAnalyse(`it did not start within ${error.seconds} s`, error, { network: true });
    }
    throw new CannotAnalyse("the face model could not start on this device", error);
  } finally {
    // The runtime reads it once its loader script has arrived, so it stays until the start settles: cleared early, a
    // late start would download the 13 MB runtime once more.
    const clear = () => { self.Module = undefined; };
    if (creating) creating.then(clear, clear);
    else clear();
  }
  stopUsageReports(landmarker);
  return new FaceAnalyser(landmarker, settings, performance.now() - started);
}

// The runtime's own log lines (TensorFlow Lite and MediaPipe start-up) arrive on its stderr, which Emscripten
// would print as console errors; only what reads as a problem stays visible as a warning.
function nativeLog(text) {
  if (/^(INFO|I\d{4})\b/.test(text)) console.debug(`face model: ${text}`);
  else console.warn(`face model: ${text}`);
}

// tasks-vision 1.1.0 reports usage figures (the task, its timings, the operating system) to Google every minute
// and when closed (its README, "Privacy Notice"), and offers no switch. Our Content-Security-Policy
// (connect-src 'self') already stops such a request inside the browser; this stops the reporter itself, so there
// is nothing to block. The reporter is found by its shape, since the bundle's names are minified; if a later
// version changes it, the policy still blocks the request.
function stopUsageReports(landmarker) {
  for (const part of Object.values(landmarker)) {
    const reporter = part && typeof part === "object" ? Object.values(part).find(isUsageReporter) : undefined;
    if (reporter) {
      clearInterval(reporter.h);
      reporter.h = undefined;
      reporter.i = [];
      reporter.error = new Error("usage reports are off");
      return true;
    }
  }
  return false;
}

function isUsageReporter(value) {
  return value !== null && typeof value === "object" && typeof value.flush === "function"
    && typeof value.close === "function" && Array.isArray(value.i) && "h" in value && "o" in value
    && typeof value.o?.send === "function";
}

export class FaceAnalyser {
  constructor(landmarker, settings, loadMs) {
    this.landmarker = landmarker;
    this.layout = settings.message;
    this.minFps = settings.minFps;
    this.loadMs = loadMs;
    this.lastTimestamp = -Infinity;
    this.durations = []; // [finished at, ms] of the model's recent frames
    this.measured = 0;
    this.lumaCanvas = document.createElement("canvas");
    this.lumaCanvas.width = this.lumaCanvas.height = LUMA_SIDE;
    this.luma = this.lumaCanvas.getContext("2d", { willReadFrequently: true });
  }

  // One frame of `source` (the camera's <video>, or any image the canvas can draw), taken at `captureMs` on the
  // page's clock: the SSM1 message for it (an ArrayBuffer).
  measure(source, width, height, captureMs = performance.now()) {
    // The model's VIDEO mode needs times that go forward.
    const timestamp = Math.max(captureMs, this.lastTimestamp + 0.001);
    this.lastTimestamp = timestamp;
    const started = performance.now();
    const result = this.landmarker.detectForVideo(source, timestamp);
    const finished = performance.now();
    this.measured += 1;
    if (this.measured > WARM_UP_FRAMES) this.durations.push([finished, finished - started]);
    const faces = result.faceLandmarks.length;
    if (faces === 0) {
      return encodeMeasurement(this.layout, { captureMs: timestamp, width, height, faces: 0, brightness: 0, face: null });
    }
    const main = largestFace(result.faceLandmarks);
    const landmarks = result.faceLandmarks[main];
    const blendshapes = Object.fromEntries(
      (result.faceBlendshapes[main]?.categories ?? []).map((category) => [category.categoryName, category.score]),
    );
    return encodeMeasurement(this.layout, {
      captureMs: timestamp,
      width,
      height,
      faces,
      brightness: this.boxBrightness(source, landmarks, width, height),
      face: { landmarks, blendshapes, matrix: rowMajor(result.facialTransformationMatrixes[main]) },
    });
  }

  // Mean luma of the face's box, as vision/signals.py box_brightness reads it from a picture: the box drawn
  // shrunk into a small canvas, then averaged.
  boxBrightness(source, landmarks, width, height) {
    let left = Infinity;
    let top = Infinity;
    let right = -Infinity;
    let bottom = -Infinity;
    for (const point of landmarks) {
      left = Math.min(left, point.x);
      right = Math.max(right, point.x);
      top = Math.min(top, point.y);
      bottom = Math.max(bottom, point.y);
    }
    const x = Math.max(0, Math.floor(left * width));
    const y = Math.max(0, Math.floor(top * height));
    const boxWidth = Math.min(width, Math.floor(right * width) + 1) - x;
    const boxHeight = Math.min(height, Math.floor(bottom * height) + 1) - y;
    if (boxWidth <= 0 || boxHeight <= 0) return 0;
    this.luma.drawImage(source, x, y, boxWidth, boxHeight, 0, 0, LUMA_SIDE, LUMA_SIDE);
    const pixels = this.luma.getImageData(0, 0, LUMA_SIDE, LUMA_SIDE).data;
    let sum = 0;
    for (let index = 0; index < pixels.length; index += 4) {
      sum += 0.299 * pixels[index] + 0.587 * pixels[index + 1] + 0.114 * pixels[index + 2];
    }
    return sum / (LUMA_SIDE * LUMA_SIDE);
  }

  // True once the model has been measured for SPEED_WINDOW_MS and could not keep up `minFps` over it: the frames
  // it analysed in that window took more than the window's time at that rate. The window must hold frames
  // spread over half of it at least: after a pause or a reconnect, one slow first frame is not a slow device.
  get tooSlow() {
    const now = performance.now();
    this.durations = this.durations.filter(([at]) => at >= now - 2 * SPEED_WINDOW_MS);
    const recent = this.durations.filter(([at]) => at >= now - SPEED_WINDOW_MS);
    if (recent.length < 2 || now - this.durations[0][0] < SPEED_WINDOW_MS) return false;
    if (recent.at(-1)[0] - recent[0][0] < SPEED_WINDOW_MS / 2) return false;
    const meanMs = recent.reduce((total, [, ms]) => total + ms, 0) / recent.length;
    return meanMs > 1000 / this.minFps;
  }

  close() {
    this.landmarker?.close();
    this.landmarker = null;
  }
}

// tasks-vision hands the matrix over as the model packs it, column by column; the message (and MediaPipe's
// Python API, which vision/face.py reads) has it row by row.
function rowMajor({ rows, columns, data }) {
  const values = new Array(rows * columns);
  for (let row = 0; row < rows; row += 1) {
    for (let column = 0; column < columns; column += 1) values[row * columns + column] = data[column * rows + row];
  }
  return values;
}

function largestFace(faces) {
  let main = 0;
  let widest = -1;
  faces.forEach((landmarks, index) => {
    const width = Math.abs(landmarks[CHEEK_POINTS[1]].x - landmarks[CHEEK_POINTS[0]].x);
    if (width > widest) {
      widest = width;
      main = index;
    }
  });
  return main;
}

// The frame sender's source in on-device mode: each message is the analyser's measurement of the camera's frame.
export class DeviceMeasurements {
  constructor(analyser, { onTooSlow, onFailing }) {
    this.analyser = analyser;
    this.onTooSlow = onTooSlow;
    this.onFailing = onFailing;
  }

  capture(video) {
    const message = this.analyser.measure(video, video.videoWidth, video.videoHeight);
    if (this.analyser.tooSlow) this.onTooSlow(this.analyser);
    return message;
  }

  // The frame sender's word that the model failed on several frames in a row: like a device too slow, the page says
  // this device cannot analyse, and sends frames instead where the class allows it.
  keepsFailing() {
    this.onFailing(this.analyser);
  }
}
