"""A live stream becomes a durable record: real clips through the student socket, then read back via the API."""

import asyncio
import base64
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.apps import apps
from rest_framework.test import APIClient
from socket_helpers import connect, jpeg, receive_until

from vision.media import read_frames

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.shared_data]
REPO_ROOT = Path(__file__).resolve().parent.parent
ZJU_CLIP = ("zju_eyeblink", "1", "000001M_FBN.avi")


@pytest.fixture(autouse=True)
def quick_session_end(settings):
    # The 30 s grace period for reconnecting is a rule of its own (tested on sockets); here the session
    # should end as soon as the socket closes.
    settings.SMARTSESSION_RESUME_SECONDS = 0.05


async def stream_clip(classroom, student, path: Path) -> dict:
    """Every frame, one at a time, with its video time as ts; returns the last feedback."""
    communicator, connected = await connect(f"/ws/student/{classroom.join_code}/", student)
    assert connected
    feedback = None
    for _, t, rgb in read_frames(path):
        image = base64.b64encode(jpeg(rgb)).decode()
        await communicator.send_json_to({"type": "frame", "image": image, "ts": round(t * 1000, 3)})
        feedback = await receive_until(communicator, "feedback")
    await communicator.disconnect()
    return feedback


async def ended_session(student) -> dict:
    """The student's one session through the API, once the server has ended it."""
    client = APIClient()
    client.force_authenticate(student)
    for _ in range(100):
        history = await database_sync_to_async(client.get)("/api/session/history/")
        sessions = history.data["results"]
        if sessions and sessions[0]["status"] == "ended":
            assert len(sessions) == 1
            detail = await database_sync_to_async(client.get)(f"/api/session/{sessions[0]['id']}/")
            return detail.data
        await asyncio.sleep(0.1)
    raise AssertionError("the session did not end after the socket closed")


def cli_blink_count(path: Path) -> int:
    result = subprocess.run([sys.executable, "-m", "vision", "analyze", str(path), "--json"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)["summary"]["blinks"]


async def test_it_records_the_same_blinks_as_the_cli_counts(classroom, student, shared_testdata):
    clip = shared_testdata.joinpath(*ZJU_CLIP)
    last = await stream_clip(classroom, student, clip)
    session = await ended_session(student)
    expected = cli_blink_count(clip)
    assert expected == 3
    assert last["blinks"] == expected
    assert session["blink_count"] == expected
    assert (session["student"], session["classroom"]) == (student.username, classroom.join_code)
    assert session["frames_analysed"] == 138


async def test_it_takes_one_sample_per_five_seconds_of_stream(classroom, student, shared_testdata):
    clip = shared_testdata / "pyfeat" / "WolfgangLanger_Pexels.mp4"  # 19.7 s
    await stream_clip(classroom, student, clip)
    session = await ended_session(student)
    samples = session["samples"]
    assert len(samples) == 4  # at 5, 10 and 15 s, and where the stream ended
    assert [sample["frames"] for sample in samples] == sorted(sample["frames"] for sample in samples)
    assert samples[-1]["frames"] == 472
    assert sum(session["time_in_state"].values()) == pytest.approx(19.7, abs=1.0)


async def test_it_keeps_no_frame_anywhere(classroom, student, shared_testdata, caplog):
    caplog.set_level(logging.DEBUG)
    started = time.time()
    clip = shared_testdata.joinpath(*ZJU_CLIP)
    await stream_clip(classroom, student, clip)
    await ended_session(student)

    image_markers = (b"\xff\xd8\xff", b"/9j/", b"data:image", b"iVBORw0KGgo")  # JPEG, its base64, data URLs, PNG
    for model in apps.get_models():
        for row in await database_sync_to_async(list)(model.objects.values()):
            for value in row.values():
                if isinstance(value, (str, bytes, memoryview, dict, list)):
                    raw = value if isinstance(value, bytes) else bytes(value) if isinstance(value, memoryview) \
                        else json.dumps(value, default=str).encode()
                    assert not any(marker in raw for marker in image_markers), (model.__name__, row)

    for record in caplog.records:
        text = record.getMessage()
        assert not any(marker.decode("latin1") in text for marker in image_markers), text
        assert len(text) < 2000, text[:200]

    # Where a frame would land if anything saved one: the project (its var/ included) and the temp folder.
    candidates = [*Path(tempfile.gettempdir()).glob("*"), *Path(tempfile.gettempdir()).glob("*/*")]
    candidates += [path for path in REPO_ROOT.rglob("*") if not {".venv", ".git", "node_modules"} & set(path.parts)]
    written = [path for path in candidates if path.is_file() and os.path.getmtime(path) >= started]
    for path in written:
        with open(path, "rb") as handle:
            head = handle.read(1 << 20)
        assert not any(marker in head for marker in image_markers[:2]), path


async def test_it_writes_the_samples_when_the_socket_closes_and_keeps_the_session_open(
    classroom, student, shared_testdata, settings
):
    from sessions_app.models import Session

    settings.SMARTSESSION_RESUME_SECONDS = 30  # the student may still come back
    await stream_clip(classroom, student, shared_testdata / "pyfeat" / "WolfgangLanger_Pexels.mp4")  # 19.7 s

    def record():
        session = Session.objects.get(student=student)
        return session.status, session.samples.count()

    # Some may be written while streaming (every 10 s, or with an alert); all of them by the time the socket closed.
    for _ in range(50):
        status, samples = await database_sync_to_async(record)()
        if samples >= 3:
            break
        await asyncio.sleep(0.1)
    assert (status, samples) == ("active", 3)  # at 5, 10 and 15 s; the end's own sample comes when it ends
