"""What a simulated student sends for a picture, prepared once, before any socket opens.

A feed maps a FrameRef, and the moment it is sent, to the WebSocket message a client would send for it. The load
generator only calls `message()`, so sending something else for the same picture is another feed; the scripts,
the pacing and the report stay as they are:
- JpegFeed: the student page's frame path, binary JPEG at the page's width and quality (docs/protocol.md).
- MeasurementFeed: the page in on-device mode (issue 13), which runs the face model itself and sends what it
  measured ("SSM1", vision.measurements), stamped with the send time as its capture time.
- Base64JsonFeed: the naive reference design's message (bench/naive_server.py), a JSON text frame with the JPEG
  in base64.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .behaviours import CLIP_FRAMES, EMPTY_ROOM, FrameRef

DEMO_CLIP = Path(__file__).resolve().parent / "clip" / "WolfgangLanger_Pexels.mp4"
# Left of this column the first frame shows only the wall behind her (the engine finds no face there).
EMPTY_WALL_WIDTH = 200


class Feed(Protocol):
    sends: str  # what its messages are, for the report: "JPEG frames", "on-device measurements", ...

    def message(self, frame: FrameRef, *, capture_ms: float) -> bytes | str:
        """A binary (bytes) or text (str) WebSocket message for `frame`, captured (sent) at `capture_ms`: a clock
        in milliseconds that never goes back for one socket."""


def clip_pictures(path: Path = DEMO_CLIP) -> Iterator[tuple[int, np.ndarray]]:
    """(index, RGB picture) for every frame of the demo clip, one at a time: all of them would take 330 MB."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise FileNotFoundError(f"{path}: OpenCV cannot open the demo clip")
    index = 0
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            yield index, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        capture.release()
    if index != CLIP_FRAMES:
        raise ValueError(f"{path}: expected the demo clip's {CLIP_FRAMES} frames, read {index}")


def empty_room(clip_frame: np.ndarray) -> np.ndarray:
    """Nobody in view: the bare wall at the clip's left edge, stretched to the frame's width."""
    height, width = clip_frame.shape[:2]
    return cv2.resize(clip_frame[:, :EMPTY_WALL_WIDTH], (width, height), interpolation=cv2.INTER_LINEAR)


def pictures(frames: Iterable[FrameRef], path: Path = DEMO_CLIP) -> Iterator[tuple[FrameRef, np.ndarray]]:
    """The RGB picture of each FrameRef asked for, in one pass over the clip."""
    wanted = set(frames)
    for index, rgb in clip_pictures(path):
        if index == 0 and EMPTY_ROOM in wanted:
            yield EMPTY_ROOM, empty_room(rgb)
        if FrameRef(index) in wanted:
            yield FrameRef(index), rgb
        if FrameRef(index, mirrored=True) in wanted:
            yield FrameRef(index, mirrored=True), np.ascontiguousarray(rgb[:, ::-1])


def page_sized(rgb: np.ndarray, *, width: int) -> np.ndarray:
    """As the student page draws the camera to its canvas: scaled to `width`, never enlarged."""
    height, own_width = rgb.shape[:2]
    if own_width <= width:
        return rgb
    return cv2.resize(rgb, (width, round(height * width / own_width)), interpolation=cv2.INTER_AREA)


def encode_jpeg(rgb: np.ndarray, *, width: int, quality: float) -> bytes:
    """As the student page does it: scaled to `width` (never enlarged), JPEG at canvas quality 0..1."""
    bgr = cv2.cvtColor(page_sized(rgb, width=width), cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, round(quality * 100)])
    if not ok:
        raise ValueError("OpenCV could not encode a frame as JPEG")
    return encoded.tobytes()


class JpegFeed:
    """Binary JPEG frames, all encoded up front so that sending one costs the generator nothing but the socket.

    A binary frame carries no capture time (the server uses arrival), as from the student page."""

    sends = "JPEG frames"

    def __init__(self, frames: Iterable[FrameRef], *, width: int, quality: float, clip: Path = DEMO_CLIP) -> None:
        self.jpegs = {frame: encode_jpeg(rgb, width=width, quality=quality) for frame, rgb in pictures(frames, clip)}

    def message(self, frame: FrameRef, *, capture_ms: float) -> bytes:
        return self.jpegs[frame]


# Where a measurement message keeps its capture time: a float64 after the 4-byte magic (docs/protocol.md).
CAPTURE_MS = struct.Struct("<d")
CAPTURE_MS_OFFSET = 4


class MeasurementFeed:
    """On-device measurements: what the page sends when the student's browser runs the face model.

    Each picture is analysed once, here, by our own Python model (vision.face.FaceAnalyzer, the model the browser
    runs too; about 15 ms a picture), and kept as its encoded message. Sending one only writes the capture time,
    which must go forward on each socket: the server's stream clock follows it.
    """

    sends = "on-device measurements"

    def __init__(self, frames: Iterable[FrameRef], *, width: int, clip: Path = DEMO_CLIP) -> None:
        # Imported here: MediaPipe is needed to make the measurements, not to send them.
        from vision.face import FaceAnalyzer
        from vision.measurements import measurement_of

        with FaceAnalyzer() as analyzer:
            self.measurements = {
                frame: measurement_of(analyzer.analyze(np.ascontiguousarray(page_sized(rgb, width=width))), 0.0)
                for frame, rgb in pictures(frames, clip)
            }

    def message(self, frame: FrameRef, *, capture_ms: float) -> bytes:
        message = bytearray(self.measurements[frame])
        CAPTURE_MS.pack_into(message, CAPTURE_MS_OFFSET, capture_ms)
        return bytes(message)


class Base64JsonFeed:
    """The naive design's frame (bench/naive_server.py): JSON text, the page's JPEG in base64, as the project was
    first described. Our own server takes it too (docs/protocol.md, "a text frame message")."""

    sends = "base64 JSON frames"

    def __init__(self, jpegs: JpegFeed) -> None:
        self.texts = {frame: json.dumps({"type": "frame", "image": base64.b64encode(jpeg).decode("ascii")})
                      for frame, jpeg in jpegs.jpegs.items()}

    def message(self, frame: FrameRef, *, capture_ms: float) -> str:
        return self.texts[frame]
