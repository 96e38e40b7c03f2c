// Camera frames as JPEG bytes, at most `width` pixels wide (never wider than the camera gives: enlarging adds bytes,
// not detail), for the server to analyse. Encoded in a worker (jpeg-worker.js), so that a student who has the
// lesson's slides open in another tab still sends frames at the page's pace; on a browser without one, on the
// page. Pictures go from the camera to the worker and the socket in memory only.

class WorkerCannotEncode extends Error {}

class WorkerEncoder {
  constructor() {
    this.worker = new Worker(new URL("./jpeg-worker.js", import.meta.url));
    this.waiting = new Map(); // id -> {resolve, reject}
    this.lastId = 0;
    this.worker.addEventListener("message", ({ data: { id, bytes, error } }) => {
      const answer = this.waiting.get(id);
      this.waiting.delete(id);
      if (error) answer?.reject(new WorkerCannotEncode(error));
      else answer?.resolve(bytes);
    });
    // A worker that cannot start (blocked, not found) would leave its frames unanswered, and the sender waiting.
    this.worker.addEventListener("error", () => {
      this.broken = true;
      for (const { reject } of this.waiting.values()) reject(new WorkerCannotEncode("the worker did not start"));
      this.waiting.clear();
    });
    this.broken = false;
  }

  async encode(video, width, height, quality) {
    if (this.broken) throw new WorkerCannotEncode("the worker did not start");
    const bitmap = await createImageBitmap(video, { resizeWidth: width, resizeHeight: height, resizeQuality: "medium" });
    const id = ++this.lastId;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, bitmap, quality }, [bitmap]);
    });
  }
}

let sharedEncoder; // one worker for the page, made on first use: undefined until then, null where none can run
function workerEncoder() {
  if (sharedEncoder === undefined) {
    const possible = typeof Worker === "function" && typeof createImageBitmap === "function"
      && typeof OffscreenCanvas === "function" && "convertToBlob" in OffscreenCanvas.prototype;
    try {
      sharedEncoder = possible ? new WorkerEncoder() : null;
    } catch {
      sharedEncoder = null;
    }
  }
  return sharedEncoder;
}

export class JpegFrames {
  constructor({ width, quality }) {
    this.width = Number(width) || 640;
    this.quality = Number(quality) || 0.7;
    this.canvas = null; // for encoding on the page
  }

  async capture(video) {
    const width = Math.min(this.width, video.videoWidth);
    const height = Math.round((video.videoHeight * width) / video.videoWidth);
    if (!width || !height) return null; // no picture yet
    const encoder = workerEncoder();
    if (encoder) {
      try {
        return await encoder.encode(video, width, height, this.quality);
      } catch (error) {
        if (!(error instanceof WorkerCannotEncode)) throw error; // this frame's trouble: the sender counts it
        // A browser that has the parts but cannot use them in a worker: the page encodes from now on.
        console.warn(`SmartSession: pictures are encoded on the page from now on: ${error.message}`);
        sharedEncoder = null;
      }
    }
    return this.onPage(video, width, height);
  }

  onPage(video, width, height) {
    this.canvas ??= document.createElement("canvas");
    if (this.canvas.width !== width) this.canvas.width = width;
    if (this.canvas.height !== height) this.canvas.height = height;
    this.canvas.getContext("2d").drawImage(video, 0, 0, width, height);
    return new Promise((resolve) => this.canvas.toBlob(resolve, "image/jpeg", this.quality))
      // Sent as bytes, not as the Blob: the browser's developer tools (and so a school's IT person checking what
      // the page sends) see the content of binary messages sent from an ArrayBuffer, not of those sent from a Blob.
      .then((blob) => blob?.arrayBuffer() ?? null);
  }
}
