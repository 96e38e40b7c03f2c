// The student's camera: opened with getUserMedia into the preview <video>, closed for a pause, and what to say
// when the browser will not give it.

export class Camera {
  // `onEnded`: the camera is gone. `onMuted` / `onUnmuted`: it is there but gives no picture for now (a laptop lid
  // closed, the system lending it to another app), then gives one again; the <video> meanwhile holds the last one.
  constructor(video, { onEnded, onMuted = () => {}, onUnmuted = () => {} }) {
    this.video = video;
    this.stream = null;
    this.muted = false;
    this.onEnded = () => {
      this.close();
      onEnded();
    };
    this.onMute = () => {
      this.muted = true;
      onMuted();
    };
    this.onUnmute = () => {
      this.muted = false;
      onUnmuted();
    };
  }

  async open() {
    if (!navigator.mediaDevices?.getUserMedia) {
      throw Object.assign(new Error("no mediaDevices"), { name: "InsecureContext" });
    }
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 } }, audio: false });
    for (const track of stream.getVideoTracks()) {
      track.addEventListener("ended", this.onEnded);
      track.addEventListener("mute", this.onMute);
      track.addEventListener("unmute", this.onUnmute);
      this.muted = track.muted;
    }
    this.stream = stream;
    this.video.srcObject = stream;
    // autoplay covers it; play() may still reject when interrupted, and the next frame is simply not ready yet.
    // Not awaited: with a camera that gives no picture it would never settle, and the page would say "Starting the
    // camera…" for ever; the frame sender waits for a picture anyway (ready).
    this.video.play().catch(() => {});
  }

  close() {
    for (const track of this.stream?.getTracks() ?? []) {
      track.removeEventListener("ended", this.onEnded);
      track.removeEventListener("mute", this.onMute);
      track.removeEventListener("unmute", this.onUnmute);
      track.stop();
    }
    this.stream = null;
    this.muted = false;
    this.video.srcObject = null;
  }

  get isOpen() {
    return this.stream !== null;
  }

  // A fresh picture is there to take (a muted camera's <video> shows its last one, which must not be sent as new).
  get ready() {
    return this.stream !== null && !this.muted && this.video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA
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
