"""Paused time is recorded as paused: in the samples, in the time in each state and in the totals.

It is never counted as the state before the pause, and it measures nothing: the means and the blink rate
leave it out.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from session_clock import at
from socket_helpers import connect, receive_until

from sessions_app.models import PAUSED, Session
from sessions_app.services import paused_sample

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_counts_a_paused_stretch_as_paused_and_leaves_it_out_of_the_means(student, classroom, make_session, make_sample):
    session = make_session(
        student,
        classroom=classroom,
        started_at=at(0),
        samples=[
            make_sample(at(0), state="happy", engagement=90, blinks=1, frames=10),
            make_sample(at(5), state="happy", engagement=70, blinks=2, frames=20),
            paused_sample(at=at(7), blinks=2, frames=20),
            paused_sample(at=at(12), blinks=2, frames=20),
            paused_sample(at=at(17), blinks=2, frames=20),
            make_sample(at(20), state="focused", engagement=50, blinks=2, frames=30),
        ],
        ended_at=at(25),
    )
    assert session.time_in_state == {"happy": 7.0, PAUSED: 13.0, "focused": 5.0}
    assert session.dominant_state == PAUSED  # not "happy 100%": the pause is the pause
    assert session.mean_engagement == pytest.approx(70.0)  # 90, 70 and 50; the paused samples measure nothing
    assert session.blink_rate_per_min == pytest.approx(2 / (12 / 60), abs=0.01)  # per minute of unpaused time


def test_it_stores_a_paused_sample_with_nothing_measured(student, classroom, make_session):
    session = make_session(student, classroom=classroom, started_at=at(0), samples=[paused_sample(at=at(1), blinks=4, frames=9)])
    sample = session.samples.get()
    assert (sample.state, sample.engagement, sample.ear, sample.blink_rate_per_min, sample.perclos) == (
        PAUSED, None, None, None, None,
    )
    assert (sample.blinks, sample.frames, sample.confidence) == (4, 9, "")


@pytest.fixture
def one_second_samples(settings):
    settings.SMARTSESSION_SAMPLE_SECONDS = 1
    # The session should end as soon as the socket closes; the grace period is a rule of its own.
    settings.SMARTSESSION_RESUME_SECONDS = 0.05


async def stream_for(communicator, frames, seconds: float, started: float) -> None:
    """Real frames, one at a time, stamped with the page's clock (ms since `started`), for `seconds`."""
    until = time.monotonic() + seconds
    index = 0
    while time.monotonic() < until:
        ts = round((time.monotonic() - started) * 1000, 1)
        await communicator.send_json_to({"type": "frame", "image": frames[index % len(frames)], "ts": ts})
        await receive_until(communicator, "feedback")
        index += 1
        await asyncio.sleep(0.05)


async def test_it_records_a_pause_on_the_socket_as_paused_time(classroom, student, face_frames, one_second_samples):
    import base64

    frames = [base64.b64encode(jpeg).decode() for _, jpeg in face_frames[:20]]
    communicator, connected = await connect(f"/ws/student/{classroom.join_code}/", student)
    assert connected
    started = time.monotonic()
    await stream_for(communicator, frames, 2.5, started)
    await communicator.send_json_to({"type": "pause"})
    await receive_until(communicator, "paused")
    await asyncio.sleep(3.0)
    await communicator.send_json_to({"type": "resume"})
    await receive_until(communicator, "resumed")
    await stream_for(communicator, frames, 2.0, started)
    await communicator.disconnect()

    def ended():
        session = Session.objects.filter(student=student).first()
        return session if session is not None and session.status == Session.Status.ENDED else None

    for _ in range(100):
        session = await database_sync_to_async(ended)()
        if session is not None:
            break
        await asyncio.sleep(0.1)
    assert session is not None, "the session did not end after the socket closed"
    samples = await database_sync_to_async(list)(session.samples.order_by("time").values_list("state", "engagement"))
    paused = [engagement for state, engagement in samples if state == PAUSED]
    assert len(paused) >= 3 and all(engagement is None for engagement in paused)
    streamed = {state: seconds for state, seconds in session.time_in_state.items() if state != PAUSED}
    assert session.time_in_state[PAUSED] == pytest.approx(3.0, abs=0.6)
    assert sum(streamed.values()) == pytest.approx(4.5, abs=0.8)
    assert session.duration.total_seconds() == pytest.approx(7.5, abs=1.0)
    assert session.mean_engagement is not None and session.mean_engagement > 0
