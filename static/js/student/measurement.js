// The on-device measurement message ("SSM1", docs/protocol.md "On-device measurements"), byte for byte what
// vision/measurements.py write_measurement makes of the same numbers: little-endian, values rounded half to even
// as NumPy's rint and Python's round do, then clipped. The layout's ranges and the blendshape order come from the
// server (`layout`: config.analysis.message), so they are defined once, in vision/measurements.py.

const MAGIC = [0x53, 0x53, 0x4d, 0x31]; // "SSM1"
const HEADER_BYTES = 20;
const LANDMARKS = 478;
const MATRIX_VALUES = 16;

export function messageBytes(layout, withFace) {
  return withFace ? HEADER_BYTES + LANDMARKS * 3 * 2 + layout.blendshapes.length + MATRIX_VALUES * 4 : HEADER_BYTES;
}

// Halves to the even neighbour (2.5 -> 2, 3.5 -> 4), as NumPy's rint and Python's round.
export function roundHalfEven(value) {
  const rounded = Math.round(value);
  return Math.abs(value % 1) === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

const clip = (value, low, high) => Math.min(Math.max(value, low), high);

// `face` is null, or {landmarks: [{x, y, z}] x 478 (normalised, as the model gives them), blendshapes: {name:
// score}, matrix: 16 numbers row-major}. Returns an ArrayBuffer.
export function encodeMeasurement(layout, { captureMs, width, height, faces, brightness, face }) {
  const buffer = new ArrayBuffer(messageBytes(layout, face !== null));
  const view = new DataView(buffer);
  MAGIC.forEach((byte, index) => view.setUint8(index, byte));
  view.setFloat64(4, captureMs, true);
  view.setUint16(12, width, true);
  view.setUint16(14, height, true);
  view.setUint8(16, faces);
  // Python: int(round(min(max(brightness, 0), 255))), so clipped first, then rounded.
  view.setUint8(17, roundHalfEven(clip(brightness, 0, 255)));
  view.setUint16(18, 0, true);
  if (face === null) return buffer;

  let offset = HEADER_BYTES;
  const quantise = (value, [low, high]) => clip(roundHalfEven(((value - low) / (high - low)) * 65535.0), 0, 65535);
  for (let index = 0; index < LANDMARKS; index += 1) {
    const point = face.landmarks[index];
    view.setUint16(offset, quantise(point.x, layout.xyRange), true);
    view.setUint16(offset + 2, quantise(point.y, layout.xyRange), true);
    view.setUint16(offset + 4, quantise(point.z, layout.zRange), true);
    offset += 6;
  }
  for (const name of layout.blendshapes) {
    view.setUint8(offset, clip(roundHalfEven((face.blendshapes[name] ?? 0) * 255.0), 0, 255));
    offset += 1;
  }
  for (let index = 0; index < MATRIX_VALUES; index += 1) {
    view.setFloat32(offset, face.matrix[index], true);
    offset += 4;
  }
  return buffer;
}
