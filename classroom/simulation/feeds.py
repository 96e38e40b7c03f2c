"""What a simulated student sends for a picture: today the page's JPEG frame, encoded once, before any socket opens.

A feed maps a FrameRef to the WebSocket message the student page would send for it. The load generator only
calls `message()`, so sending something else for the same picture is another feed:
- JpegFeed: the page's frame path, binary JPEG at the page's width and quality (docs/protocol.md).
- On-device mode (issue 13): the page runs the face model itself and sends measurements. Its feed would compute
  each picture's measurements once, here, and return the encoded measurement message; the scripts, the
  pacing and the report stay as they are.
"""

from __future__ import annotations

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
    def message(self, frame: FrameRef) -> bytes | str:
        """A binary (bytes) or text (str) WebSocket message."""


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


def encode_jpeg(rgb: np.ndarray, *, width: int, quality: float) -> bytes:
    """As the student page does it: scaled to `width` (never enlarged), JPEG at canvas quality 0..1."""
    height, own_width = rgb.shape[:2]
    if own_width > width:
        rgb = cv2.resize(rgb, (width, round(height * width / own_width)), interpolation=cv2.INTER_AREA)
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, round(quality * 100)])
    if not ok:
        raise ValueError("OpenCV could not encode a frame as JPEG")
    return encoded.tobytes()


class JpegFeed:
    """Binary JPEG frames, all encoded up front so that sending one costs the generator nothing but the socket."""

    def __init__(self, frames: Iterable[FrameRef], *, width: int, quality: float, clip: Path = DEMO_CLIP) -> None:
        self.jpegs = {frame: encode_jpeg(rgb, width=width, quality=quality) for frame, rgb in pictures(frames, clip)}

    def message(self, frame: FrameRef) -> bytes:
        return self.jpegs[frame]
