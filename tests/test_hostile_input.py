"""Whatever a client sends, the server answers with a documented error or a result, and never crashes.

Property-based (Hypothesis): arbitrary bytes and text thrown at the frame decoder, the on-device measurement
reader and the student socket's message parser.
"""

from __future__ import annotations

import base64
import json
import struct

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classroom.frames import BadMessage, StudentMessage, parse_student_text, parse_teacher_text
from vision.decode import MIN_FACE_FRAME_SIDE, FrameError, decode_frame
from vision.measurements import HEADER, MESSAGE_BYTES_WITH_FACE, BadMeasurement, read_measurement

# Every code a frame or message may be refused with (docs/protocol.md).
DOCUMENTED_CODES = {"empty", "not_base64", "not_image", "corrupt", "too_large", "too_many_pixels", "too_small",
                    "bad_measurement", "bad_message"}
MAGICS = [b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xc0", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b""]
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decoded_or_refused(data) -> None:
    try:
        image = decode_frame(data, min_side=MIN_FACE_FRAME_SIDE)
    except FrameError as error:
        assert error.code in DOCUMENTED_CODES and str(error)
    else:
        assert image.ndim == 3 and image.shape[2] == 3 and min(image.shape[:2]) >= MIN_FACE_FRAME_SIDE


@FAST
@given(st.sampled_from(MAGICS), st.binary(max_size=4096))
def test_it_decodes_or_refuses_any_bytes(magic, tail):
    decoded_or_refused(magic + tail)


@FAST
@given(st.one_of(st.text(max_size=2000), st.binary(max_size=1500).map(lambda raw: base64.b64encode(raw).decode()),
                 st.binary(max_size=1500).map(lambda raw: "data:image/jpeg;base64," + base64.b64encode(raw).decode())))
def test_it_decodes_or_refuses_any_text(text):
    decoded_or_refused(text)


@FAST
@given(st.binary(min_size=MESSAGE_BYTES_WITH_FACE - HEADER.size, max_size=MESSAGE_BYTES_WITH_FACE - HEADER.size),
       st.floats(allow_nan=True, allow_infinity=True), st.integers(0, 65535), st.integers(0, 65535),
       st.integers(0, 255), st.integers(0, 255))
def test_it_reads_or_refuses_any_measurement(body, capture_ms, width, height, faces, brightness):
    message = HEADER.pack(b"SSM1", capture_ms, width, height, faces, brightness, 0) + body
    try:
        _, analysis = read_measurement(message)
    except BadMeasurement as error:
        assert str(error)
    else:
        face = analysis.face
        assert face is not None and np.isfinite(face.landmarks).all()
        assert all(np.isfinite(value) for value in (face.ear, face.yaw, face.pitch, face.roll, face.smile))


@FAST
@given(st.binary(max_size=64))
def test_it_refuses_any_short_measurement(data):
    try:
        read_measurement(b"SSM1" + data)
    except BadMeasurement as error:
        assert error.code == "bad_measurement"


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
messages = st.one_of(
    st.text(max_size=200),
    json_values.map(json.dumps),
    st.fixed_dictionaries({"type": st.sampled_from(["frame", "pause", "resume", "ping", "Frame", ""])},
                          optional={"image": json_values, "ts": json_values}).map(json.dumps),
)


@FAST
@given(messages)
def test_it_parses_or_refuses_any_student_text(text):
    try:
        message = parse_student_text(text)
    except BadMessage as error:
        assert error.code == "bad_message" and str(error)
    else:
        assert isinstance(message, StudentMessage) and message.kind in ("frame", "pause", "resume", "ping")
        assert message.kind != "frame" or isinstance(message.image, str)


@FAST
@given(messages)
def test_it_reads_a_teachers_ping_and_refuses_any_other_text(text):
    try:
        kind = parse_teacher_text(text)
    except BadMessage as error:
        assert error.code == "bad_message" and str(error)
    else:
        assert kind == "ping" and json.loads(text)["type"] == "ping"


def test_it_refuses_a_measurement_header_alone_as_too_short():
    try:
        read_measurement(struct.pack("<4sd", b"SSM1", 1.0))
    except BadMeasurement as error:
        assert "bytes" in str(error)
    else:
        raise AssertionError("a 12-byte measurement was accepted")
