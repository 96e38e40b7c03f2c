"""What the server logs: one line per session started or ended, and JSON lines on request (LOG_FORMAT=json)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from socket_helpers import close_code, connect, receive

from sessions_app.services import close_stale_sessions, session_end, session_start
from smartsession.logs import JsonLinesFormatter

REPO_ROOT = Path(__file__).resolve().parent.parent


def session_lines(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "smartsession.sessions"]


def test_it_logs_one_line_when_a_session_starts_and_one_when_it_ends(
    classroom, student, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.INFO, logger="smartsession.sessions")
    with django_capture_on_commit_callbacks(execute=True):
        session, _ = session_start(student=student, classroom=classroom)
        session_start(student=student, classroom=classroom)  # the same active session: no new line
    with django_capture_on_commit_callbacks(execute=True):
        session_end(session_id=session.pk)
        session_end(session_id=session.pk)  # already ended: no second line
    started, ended = session_lines(caplog)
    assert started.getMessage() == f"session {session.pk} started: student {student.pk}, class {classroom.pk}"
    assert ended.getMessage().startswith(f"session {session.pk} ended: student {student.pk}, class {classroom.pk}, ")
    assert (started.event, ended.event) == ("session.started", "session.ended")
    assert ended.getMessage().endswith(" s, 0 samples")  # ids and numbers only, no names


def test_it_logs_the_end_of_a_stale_session(classroom, student, make_sample, caplog,
                                            django_capture_on_commit_callbacks):
    caplog.set_level(logging.INFO, logger="smartsession.sessions")
    long_ago = timezone.now() - timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        session, _ = session_start(student=student, classroom=classroom, started_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        assert close_stale_sessions() == 1
    assert [record.event for record in session_lines(caplog)] == ["session.started", "session.ended"]
    assert session_lines(caplog)[-1].session_id == session.pk


def test_it_formats_a_record_as_one_json_object_with_its_extra_fields():
    record = logging.LogRecord("smartsession.sessions", logging.INFO, __file__, 1, "session %s ended", (7,), None)
    record.session_id = 7
    line = JsonLinesFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "INFO" and entry["logger"] == "smartsession.sessions"
    assert entry["message"] == "session 7 ended" and entry["session_id"] == 7
    assert entry["time"].endswith("+00:00")


@pytest.mark.parametrize(("log_format", "is_json"), [("json", True), ("", False)])
def test_it_writes_json_lines_only_when_asked(log_format, is_json):
    script = "import logging; logging.getLogger('smartsession.sessions').info('hello', extra={'event': 'test'})"
    env = {"PATH": os.environ["PATH"], "LOG_FORMAT": log_format}
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    if is_json:
        assert json.loads(line) | {"time": None} == {
            "time": None, "level": "INFO", "logger": "smartsession.sessions", "message": "hello", "event": "test"
        }
    else:
        assert line.endswith("INFO smartsession.sessions: hello")


@pytest.mark.django_db(transaction=True)
async def test_it_logs_one_line_for_a_refused_socket_with_its_reason(classroom, other_student, caplog):
    caplog.set_level(logging.INFO, logger="smartsession.sockets")
    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", other_student)
    await receive(communicator)
    assert await close_code(communicator) == 4403
    (line,) = [record for record in caplog.records if record.name == "smartsession.sockets"]
    assert line.getMessage() == f"student socket refused: forbidden (4403) on /ws/student/{classroom.join_code}/"
    assert (line.event, line.code, line.close_code) == ("socket.refused", "forbidden", 4403)


@pytest.mark.django_db(transaction=True)
async def test_it_counts_a_flood_of_bad_frames_in_one_line(classroom, student, caplog):
    caplog.set_level(logging.INFO, logger="smartsession.frames")
    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    for _ in range(40):
        await communicator.send_to(bytes_data=b"not a picture")
        assert (await receive(communicator))["code"] == "not_image"
    await communicator.disconnect()
    lines = [record for record in caplog.records if record.name == "smartsession.frames"]
    # The first error at once; the other 39 counted in the line the stream writes when it ends.
    assert [record.errors for record in lines][:1] == [{"not_image": 1}]
    assert len(lines) <= 2
