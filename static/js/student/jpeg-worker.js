// Encodes the camera's pictures as JPEG for jpeg-frames.js, off the page's thread. In a background tab the page's own
// encoders (canvas.toBlob, OffscreenCanvas.convertToBlob) answer only once a second; a worker's are not held back.
const canvas = new OffscreenCanvas(1, 1);
let context = null;

self.onmessage = async ({ data: { id, bitmap, quality } }) => {
  try {
    if (canvas.width !== bitmap.width) canvas.width = bitmap.width;
    if (canvas.height !== bitmap.height) canvas.height = bitmap.height;
    context ??= canvas.getContext("2d");
    context.drawImage(bitmap, 0, 0);
    const blob = await canvas.convertToBlob({ type: "image/jpeg", quality });
    const bytes = await blob.arrayBuffer();
    self.postMessage({ id, bytes }, [bytes]);
  } catch (error) {
    self.postMessage({ id, error: String(error) });
  } finally {
    bitmap.close();
  }
};
