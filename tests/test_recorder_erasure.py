"""A student who erases their records while a stream of theirs is still being recorded: nothing is kept, and the
recorder stops at once instead of trying to end a session that no longer exists."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from classroom.recording import FINISH_RETRY_EVERY_S, SessionRecorder
from sessions_app.models import Session
from sessions_app.personal_records import personal_records_erase
from vision.face import FrameAnalysis
from vision.tracker import StudentTracker

pytestmark = pytest.mark.django_db(transaction=True)
EMPTY_ROOM = FrameAnalysis(width=640, height=360, faces=0, face=None)


async def test_a_session_erased_while_the_student_is_away_ends_at_once(classroom, student):
    recorder = SessionRecorder(classroom_id=classroom.pk, student_id=student.pk)
    tracker = StudentTracker()
    for frame in range(60):  # 6 s at 10 fps: a sample at 5 s
        recorder.on_status(frame / 10, tracker.update(frame / 10, EMPTY_ROOM))
    assert await recorder.flush() and recorder.session_id is not None
    recorder.on_disconnected()
    # Within the grace period for reconnecting, the student erases their records from the history page.
    await database_sync_to_async(personal_records_erase)(student=student)

    # It used to retry every FINISH_RETRY_EVERY_S for an hour (and hold up a graceful shutdown meanwhile).
    async with asyncio.timeout(FINISH_RETRY_EVERY_S):
        await recorder.finish()

    assert recorder.erased
    assert not await Session.objects.filter(student=student).aexists()
