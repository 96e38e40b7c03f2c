"""On-device measurements: the message a student's browser sends instead of a picture, read and refused.

The measurements are made by our own model on real frames (vision.measurements.measurement_of), so what the
server reads back can be compared with what the frame itself gave.
"""

from __future__ import annotations

import asyncio
import struct

import numpy as np
import pytest
from socket_helpers import connect, receive, save_meanwhile

from vision.measurements import (
    HEADER,
    MESSAGE_BYTES_WITH_FACE,
    MESSAGE_BYTES_WITHOUT_FACE,
    BadMeasurement,
    measurement_of,
    read_measurement,
)

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def face_analyses(shared_testdata, analyzer):
    from vision.media import read_frames

    return [(t, analyzer.analyze(rgb)) for _, t, rgb in read_frames(shared_testdata / "pyfeat" / "single_face.mp4")]


def test_it_reads_back_what_the_model_saw_within_the_quantisation(face_analyses):
    for t, analysis in face_analyses:
        message = measurement_of(analysis, t * 1000)
        assert len(message) == MESSAGE_BYTES_WITH_FACE
        capture_ms, read = read_measurement(message)
        assert capture_ms == t * 1000 and (read.width, read.height, read.faces) == (640, 360, 1)
        face, back = analysis.face, read.face
        assert abs(face.ear - back.ear) < 0.002
        assert max(abs(face.yaw - back.yaw), abs(face.pitch - back.pitch), abs(face.roll - back.roll)) < 0.01
        assert abs(face.gaze_x - back.gaze_x) < 0.005 and abs(face.smile - back.smile) < 0.01
        assert abs(face.quality.brightness - back.quality.brightness) <= 0.5
        assert np.abs(face.landmarks - back.landmarks).max() < 0.05  # pixels


def test_it_reads_a_message_without_a_face():
    from vision.face import FrameAnalysis

    capture_ms, read = read_measurement(measurement_of(FrameAnalysis(640, 480, 0, None), 12.5))
    assert (capture_ms, read.faces, read.face) == (12.5, 0, None)


def _with_header(message: bytes, **fields) -> bytes:
    values = dict(zip(("magic", "capture_ms", "width", "height", "faces", "brightness", "reserved"),
                      HEADER.unpack_from(message)))
    values.update(fields)
    return HEADER.pack(*values.values()) + message[HEADER.size:]


def _with_matrix(message: bytes, matrix) -> bytes:
    return message[:-64] + np.asarray(matrix, dtype="<f4").tobytes()


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        (lambda m: m[:-1], "bytes without a face"),
        (lambda m: m + b"\0", "bytes without a face"),
        (lambda m: b"SSM2" + m[4:], "not a SmartSession measurement"),
        (lambda m: _with_header(m, capture_ms=float("nan")), "capture time"),
        (lambda m: _with_header(m, width=10), "image size"),
        (lambda m: _with_header(m, faces=0), "says 0 faces"),
        (lambda m: _with_matrix(m, np.full(16, np.inf)), "not a number"),
        (lambda m: _with_header(m, faces=5), "at most 4"),
        (lambda m: _with_matrix(m, np.eye(4) * 3), "not a rotation: its axes are 3, 3, 3 long"),
        (lambda m: _with_matrix(m, [[1, 0.2, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), "not at right angles"),
        (lambda m: _with_matrix(m, np.diag([1, 1, -1, 1])), "mirrors the face"),
        (lambda m: _with_matrix(m, [[1, 0, 0, 5000], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), "far"),
    ],
)
def test_it_refuses_a_malformed_message_saying_why(face_analyses, spoil, words):
    t, analysis = face_analyses[0]
    with pytest.raises(BadMeasurement, match=words) as refused:
        read_measurement(spoil(measurement_of(analysis, t * 1000)))
    assert refused.value.code == "bad_measurement"


def test_it_takes_a_rotation_rounded_as_a_client_might_send_it(face_analyses):
    t, analysis = face_analyses[0]
    angle = np.radians(25)
    turned = np.array([[np.cos(angle), 0, np.sin(angle), 2.5], [0, 1, 0, -1.0],
                       [-np.sin(angle), 0, np.cos(angle), -45.0], [0, 0, 0, 1]])
    for rounded in (turned, turned.astype(np.float16), np.round(turned, 2)):
        _, read = read_measurement(_with_matrix(measurement_of(analysis, t * 1000), rounded))
        assert abs(read.face.yaw) == pytest.approx(25, abs=0.5)


def test_it_refuses_a_face_flag_without_a_face_body():
    header = HEADER.pack(b"SSM1", 0.0, 640, 480, 1, 100, 0)
    assert len(header) == MESSAGE_BYTES_WITHOUT_FACE
    with pytest.raises(BadMeasurement, match="lacks a face"):
        read_measurement(header)


@pytest.fixture
def on_device_class(classroom):
    from classroom.services import classroom_set_analysis

    return classroom_set_analysis(classroom=classroom, on_device=True, frame_fallback=False)


@pytest.mark.django_db(transaction=True)
async def test_it_answers_measurements_on_the_student_socket_and_keeps_it_open_after_a_bad_one(
    on_device_class, student, face_analyses
):
    classroom = on_device_class
    communicator, connected = await connect(f"/ws/student/{classroom.join_code}/", student)
    assert connected
    t, analysis = face_analyses[0]
    await communicator.send_to(bytes_data=measurement_of(analysis, 1000.0))
    feedback = await receive(communicator)
    assert (feedback["type"], feedback["face"], feedback["state"]) == ("feedback", True, "focused")
    assert abs(feedback["ear"] - analysis.face.ear) < 0.002

    await communicator.send_to(bytes_data=measurement_of(analysis, 1100.0)[:-3])
    error = await receive(communicator)
    assert (error["type"], error["code"], error["frame"]) == ("error", "bad_measurement", 2)

    await communicator.send_to(bytes_data=measurement_of(analysis, 900.0))  # before the first: time went back
    assert (await receive(communicator))["code"] == "bad_ts"
    await communicator.send_to(bytes_data=struct.pack("<4sd", b"SSM1", 1200.0))
    assert (await receive(communicator))["code"] == "bad_measurement"
    await communicator.send_to(bytes_data=measurement_of(analysis, 1300.0))
    assert (await receive(communicator))["type"] == "feedback"
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_it_takes_only_what_the_class_analyses(classroom, student, face_analyses, face_frames):

    from classroom.services import classroom_set_analysis

    t, analysis = face_analyses[0]
    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    await communicator.send_to(bytes_data=measurement_of(analysis, 1000.0))
    assert (await receive(communicator))["code"] == "measurements_off"
    await communicator.send_to(bytes_data=face_frames[0][1])
    assert (await receive(communicator))["type"] == "feedback"
    await communicator.disconnect()

    await save_meanwhile(classroom_set_analysis, classroom=classroom, on_device=True, frame_fallback=False)
    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    await communicator.send_to(bytes_data=face_frames[0][1])
    error = await receive(communicator)
    assert (error["code"], error["frame"]) == ("frames_off", 1)
    await communicator.send_to(bytes_data=measurement_of(analysis, 1000.0))
    assert (await receive(communicator))["type"] == "feedback"
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_it_records_where_the_face_was_analysed(on_device_class, student, face_analyses, settings):
    from channels.db import database_sync_to_async

    from classroom import recording
    from sessions_app.models import Session

    settings.SMARTSESSION_RESUME_SECONDS = 0
    communicator, _ = await connect(f"/ws/student/{on_device_class.join_code}/", student)
    for number, (t, analysis) in enumerate(face_analyses[:10]):
        await communicator.send_to(bytes_data=measurement_of(analysis, 1000.0 + 100 * number))
        assert (await receive(communicator))["type"] == "feedback"
    await communicator.disconnect()
    for _ in range(50):
        await asyncio.to_thread(recording.wait_for_writes)
        session = await database_sync_to_async(Session.objects.filter(student=student).first)()
        if session is not None and session.status == "ended":
            break
        await asyncio.sleep(0.1)
    assert (session.status, session.analysis, session.frames_analysed) == ("ended", "device", 10)
