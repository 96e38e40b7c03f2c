// The student's camera: opened with getUserMedia into the preview <video>, closed for a pause, and what to say
// when the browser will not give it.

export class Camera {
  constructor(video, { onEnded }) {
    this.video = video;
    this.stream = null;
    this.onEnded = () => {
      this.close();
      onEnded();
    };
  }

  async open() {
    if (!navigator.mediaDevices?.getUserMedia) {
      throw Object.assign(new Error("no mediaDevices"), { name: "InsecureContext" });
    }
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 } }, audio: false });
    for (const track of stream.getVideoTracks()) track.addEventListener("ended", this.onEnded);
    this.stream = stream;
    this.video.srcObject = stream;
    // autoplay covers it; play() may still reject when interrupted, and the next frame is simply not ready yet.
    await this.video.play().catch(() => {});
  }

  close() {
    for (const track of this.stream?.getTracks() ?? []) {
      track.removeEventListener("ended", this.onEnded);
      track.stop();
    }
    this.stream = null;
    this.video.srcObject = null;
  }

  get isOpen() {
    return this.stream !== null;
  }

  // A picture is there to take.
  get ready() {
    return this.stream !== null && this.video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA
      && this.video.videoWidth > 0;
  }
}

// What to tell the student when the camera would not start, ending with what to press (`button`) after fixing it.
export function cameraProblem(error, button) {
  switch (error?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "The camera is blocked for this page. Allow it in the browser's site settings (the camera or "
        + `padlock icon in the address bar), then press ${button} again.`;
    case "NotFoundError":
    case "OverconstrainedError":
      return `No camera was found. Plug one in or switch it on, then press ${button} again.`;
    case "NotReadableError":
    case "AbortError":
      return "The camera is in use by another app (a video call, perhaps). Close that app or tab, "
        + `then press ${button} again.`;
    case "InsecureContext":
      return "The browser only allows the camera on a secure page. Open this page through https:// "
        + "(or http://localhost on this computer).";
    default:
      return `The camera could not start (${error?.message || error}). Press ${button} to try again.`;
  }
}
