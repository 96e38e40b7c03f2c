"""Turn a webcam frame from the WebSocket into an RGB array, refusing bad input cheaply.

A frame arrives as bytes (a binary WebSocket message holding a JPEG, PNG or WebP)
or as text (base64, or a ``data:image/...;base64,`` URL). Everything that can be
refused without decoding is refused first, in order of cost: the encoded size,
the format (magic numbers), the width and height from the header (so a
decompression bomb never reaches the decoder) and the end-of-image marker (libjpeg
may turn a cut-off JPEG into a half-grey picture with only a warning, and libpng
prints errors to stderr for a cut-off PNG).

Error messages are shown to students and teachers and may be logged, so they never
contain any of the frame's data.
"""

from __future__ import annotations

import binascii

import cv2
import numpy as np

# A 1280x720 webcam JPEG at browser default quality is 100-300 KB; 2 MB leaves
# room for PNG and high quality without letting one client hog memory.
DEFAULT_MAX_BYTES = 2 * 1024 * 1024
# 4096x4096 (16.8 megapixels) is above any webcam; decoding it takes 48 MB as RGB.
DEFAULT_MAX_PIXELS = 4096 * 4096
# The face detector works on a 128x128 input and our quality check wants a face 60 px wide: a webcam frame
# smaller than this on either side cannot hold a readable face. Live streams refuse it (a broken camera is not
# an empty seat); files and tests may decode anything.
MIN_FACE_FRAME_SIDE = 64

# Bytes at the end of a frame searched for the end-of-image marker: some encoders
# pad a JPEG with zeros or append a few bytes after EOI.
TRAILER_SEARCH_BYTES = 32
# Real JPEGs have a handful of segments before the frame header (APPn, DQT, DHT;
# an ICC profile split over a few dozen APP2 segments at most). The walk is
# Python, so cap it: 2 MB of 4-byte segments would otherwise cost ~250 ms.
JPEG_MAX_HEADER_STEPS = 1000
# Longest data URL prefix we look at for the comma, e.g.
# "data:image/jpeg;charset=utf-8;name=frame.jpg;base64,".
DATA_URL_MAX_HEADER = 256

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the whole IEND chunk, CRC included
_JPEG_EOI = b"\xff\xd9"
# SOF0..SOF15 carry height and width; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
_JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM and RST0..RST7.
_JPEG_STANDALONE_MARKERS = frozenset([0x01, *range(0xD0, 0xD8)])
_DATA_URL_MEDIA_TYPES = frozenset(["image/jpeg", "image/jpg", "image/png", "image/webp"])
_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")
_FORMAT_NAMES = {"jpeg": "JPEG", "png": "PNG", "webp": "WebP"}


class FrameError(ValueError):
    """A frame that cannot be turned into an image. ``str(error)`` is for people."""

    code = "invalid_frame"


class EmptyFrame(FrameError):
    code = "empty"


class NotBase64(FrameError):
    code = "not_base64"


class NotAnImage(FrameError):
    code = "not_image"


class CorruptImage(FrameError):
    code = "corrupt"


class FrameTooLarge(FrameError):
    code = "too_large"


class TooManyPixels(FrameError):
    code = "too_many_pixels"


class TooSmall(FrameError):
    code = "too_small"


def image_size(data: bytes | bytearray | memoryview) -> tuple[str, int, int]:
    """Return ``(format, width, height)`` read from the header alone.

    ``format`` is "jpeg", "png" or "webp". Raises NotAnImage for anything else and
    CorruptImage for a damaged or cut-off header or a zero width or height.
    """
    if data[:2] == b"\xff\xd8":
        image_format = "jpeg"
        width, height = _jpeg_size(data)
    elif data[:4] == _PNG_SIGNATURE[:4]:
        image_format = "png"
        width, height = _png_size(data)
    elif data[:4] == b"RIFF" and (len(data) < 12 or data[8:12] == b"WEBP"):
        image_format = "webp"
        width, height = _webp_size(data)
    else:
        raise NotAnImage("The frame is not a JPEG, PNG or WebP image.")
    if width == 0 or height == 0:
        raise CorruptImage(
            f"The {_FORMAT_NAMES[image_format]} image says it is {width}x{height} pixels; it is damaged."
        )
    return image_format, width, height


def decode_frame(
    data: bytes | bytearray | memoryview | str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    min_side: int = 1,
) -> np.ndarray:
    """Decode a webcam frame into an HxWx3 uint8 RGB array (C-contiguous).

    Grayscale frames come out as three equal channels, alpha is dropped. A JPEG
    with an EXIF orientation is rotated upright, as browsers show it, so its
    shape may be image_size's width and height swapped.
    Raises a FrameError subclass whose ``code`` says why; `min_side` refuses smaller pictures (TooSmall).
    """
    if isinstance(data, str):
        data = _decode_text(data, max_bytes=max_bytes)
    elif isinstance(data, memoryview) and not (data.format == "B" and data.ndim == 1 and data.c_contiguous):
        data = data.cast("B") if data.c_contiguous else data.tobytes()

    size = len(data)
    if size == 0:
        raise EmptyFrame("The frame is empty.")
    if size > max_bytes:
        raise FrameTooLarge(f"The frame is {_format_bytes(size)}; the limit is {_format_bytes(max_bytes)}.")

    image_format, width, height = image_size(data)
    if width * height > max_pixels:
        raise TooManyPixels(
            f"The image is {width}x{height} pixels; "
            f"the limit is {max_pixels / 1_000_000:.1f} megapixels."
        )
    if min(width, height) < min_side:
        raise TooSmall(
            f"The image is {width}x{height} pixels, too small to hold a face; "
            f"send at least {min_side} pixels on each side."
        )
    _check_complete(data, image_format)

    try:
        # np.frombuffer shares the frame's memory: no copy before the decoder.
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB)
    except cv2.error:
        image = None
    if image is None:
        raise CorruptImage(f"The {_FORMAT_NAMES[image_format]} image is damaged and cannot be read.")
    return image


def _decode_text(text: str, *, max_bytes: int) -> bytes:
    """Base64 or a base64 data URL to bytes; the length is checked before decoding."""
    text = text.strip()
    if text[:5].lower() == "data:":
        text = _data_url_payload(text)
    if not text:
        raise EmptyFrame("The frame is empty.")

    # Refuse oversized text before decoding it. The bound is generous (line
    # breaks every 64-76 characters add under 1/16) because the decoded bytes
    # are checked exactly afterwards.
    max_text = (max_bytes + 2) // 3 * 4
    if len(text) > max_text + max_text // 16 + 4:
        raise FrameTooLarge(
            f"The frame is about {_format_bytes(len(text) * 3 // 4)}; "
            f"the limit is {_format_bytes(max_bytes)}."
        )

    try:
        # Fast path: what browsers send (canvas.toDataURL, FileReader, btoa).
        return binascii.a2b_base64(text, strict_mode=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        pass
    # Slow path: line breaks, the URL-safe alphabet, missing padding.
    text = "".join(text.split()).translate(_URLSAFE_TO_STANDARD).rstrip("=")
    if len(text) % 4 == 1:
        raise NotBase64("The frame text is not valid base64.")
    text += "=" * (-len(text) % 4)
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except ValueError:
        raise NotBase64("The frame text is not valid base64.") from None


def _data_url_payload(text: str) -> str:
    """The base64 part of ``data:image/jpeg;base64,...`` after checking the header."""
    comma = text.find(",", 5, DATA_URL_MAX_HEADER)
    if comma == -1:
        raise NotBase64("The data URL is malformed: it has no comma before the image data.")
    media_type, *parameters = text[5:comma].split(";")
    if media_type.strip().lower() not in _DATA_URL_MEDIA_TYPES:
        raise NotAnImage("The data URL is not a JPEG, PNG or WebP image.")
    if not parameters or parameters[-1].strip().lower() != "base64":
        raise NotBase64("The data URL is not base64-encoded.")
    return text[comma + 1 :]


def _check_complete(data: bytes | bytearray | memoryview, image_format: str) -> None:
    """Refuse a frame cut off in transit by looking only at its end."""
    if image_format == "webp":
        # The RIFF header gives the file size; libwebp ignores bytes after it.
        riff_end = int.from_bytes(data[4:8], "little") + 8
        complete = len(data) >= riff_end
    else:
        end_marker = _JPEG_EOI if image_format == "jpeg" else _PNG_IEND
        complete = end_marker in bytes(data[-TRAILER_SEARCH_BYTES:])
    if not complete:
        raise CorruptImage(f"The image data is cut off (truncated {_FORMAT_NAMES[image_format]}).")


def _jpeg_size(data: bytes | bytearray | memoryview) -> tuple[int, int]:
    """Walk the JPEG markers from SOI to the first frame header (SOFn)."""
    size = len(data)
    position = 2
    steps = 0
    while position < size:
        steps += 1
        if steps > JPEG_MAX_HEADER_STEPS:
            raise CorruptImage("The JPEG image is damaged: too many segments before the frame header.")
        if data[position] != 0xFF:
            raise CorruptImage("The JPEG image is damaged and cannot be read.")
        position += 1
        if position >= size:
            break
        marker = data[position]
        if marker == 0xFF:  # a fill byte before the marker: counts as a step
            continue
        position += 1
        if marker in _JPEG_STANDALONE_MARKERS:
            continue
        if marker in (0x00, 0xD8, 0xD9, 0xDA):  # stuffing, SOI again, EOI or a scan before any frame header
            raise CorruptImage("The JPEG image is damaged: it has no frame header.")
        if marker in _JPEG_SOF_MARKERS:
            # length(2) precision(1) height(2) width(2)
            if position + 7 > size:
                break
            height = (data[position + 3] << 8) | data[position + 4]
            width = (data[position + 5] << 8) | data[position + 6]
            return width, height
        if position + 2 > size:
            break
        segment_length = (data[position] << 8) | data[position + 1]
        if segment_length < 2:
            raise CorruptImage("The JPEG image is damaged and cannot be read.")
        position += segment_length
    raise CorruptImage("The image data is cut off (truncated JPEG).")


def _png_size(data: bytes | bytearray | memoryview) -> tuple[int, int]:
    """Width and height from IHDR, which must be the first chunk."""
    if len(data) < 24:
        raise CorruptImage("The image data is cut off (truncated PNG).")
    if data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise CorruptImage("The PNG image is damaged and cannot be read.")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _webp_size(data: bytes | bytearray | memoryview) -> tuple[int, int]:
    """Width and height from the first chunk: VP8 (lossy), VP8L (lossless) or VP8X (extended)."""
    if len(data) < 30:
        raise CorruptImage("The image data is cut off (truncated WebP).")
    chunk = data[12:16]
    if chunk == b"VP8 ":
        # frame tag(3): bit 0 clear on a key frame; start code 9D 01 2A; 14-bit sizes plus 2 scale bits
        if data[20] & 1 or data[23:26] != b"\x9d\x01\x2a":
            raise CorruptImage("The WebP image is damaged and cannot be read.")
        width = int.from_bytes(data[26:28], "little") & 0x3FFF
        height = int.from_bytes(data[28:30], "little") & 0x3FFF
        return width, height
    if chunk == b"VP8L":
        # signature 0x2F, then 14 bits width-1 and 14 bits height-1
        if data[20] != 0x2F:
            raise CorruptImage("The WebP image is damaged and cannot be read.")
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        # flags(1) reserved(3), then 24 bits canvas width-1 and 24 bits height-1
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    raise CorruptImage("The WebP image is damaged and cannot be read.")


def _format_bytes(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size} bytes"
