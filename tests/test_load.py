"""Twenty students at 30 fps on one server: everyone gets fresh feedback, nothing queues, teachers are not flooded.

Counts, not timings: how fast this machine is decides how many frames are skipped, not whether the rules hold.
"""

import asyncio
from collections import Counter

import pytest
from socket_helpers import connect, receive

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.shared_data, pytest.mark.slow]

STUDENTS = 20
FPS = 30
SECONDS = 3.0


@pytest.fixture
def class_of_twenty(classroom, make_user):
    from classroom.services import classroom_join, membership_consent

    students = [make_user(f"loadstudent{number}") for number in range(STUDENTS)]
    for student in students:
        membership_consent(membership=classroom_join(student=student, code=classroom.join_code))
    return students


async def stream(communicator, frames, stop_at):
    loop = asyncio.get_running_loop()
    sent = 0
    while loop.time() < stop_at:
        await communicator.send_to(bytes_data=frames[sent % len(frames)])
        sent += 1
        await asyncio.sleep(1 / FPS)
    return sent


async def collect(communicator, until):
    """Every message until `until(messages)` says every frame sent was answered or skipped."""
    messages = []
    while not until(messages):
        messages.append(await receive(communicator, timeout=30))
    return messages


async def test_it_answers_twenty_students_at_30_fps_with_fresh_frames(classroom, teacher, class_of_twenty, face_frames):
    frames = [frame for _, frame in face_frames]
    watcher, _ = await connect(f"/ws/teacher/{classroom.join_code}/", teacher)
    assert (await receive(watcher))["type"] == "snapshot"
    pupils = [(await connect(f"/ws/student/{classroom.join_code}/", student))[0] for student in class_of_twenty]

    loop = asyncio.get_running_loop()
    started = loop.time()
    # Replies wait in each socket's queue while all twenty stream, so reading them afterwards loses nothing.
    sent_counts = await asyncio.gather(*(stream(pupil, frames, started + SECONDS) for pupil in pupils))
    replies = [
        await collect(pupil, lambda messages, sent=sent: sum(1 + m.get("skipped", 0) for m in messages) >= sent)
        for pupil, sent in zip(pupils, sent_counts)
    ]
    elapsed = loop.time() - started

    for index, messages in enumerate(replies):
        assert [message["type"] for message in messages] == ["feedback"] * len(messages), "no errors on any socket"
        assert messages[-1]["frame"] == sent_counts[index], "the newest frame is always the one analysed"
        assert len(messages) + sum(message["skipped"] for message in messages) == sent_counts[index]
    assert sum(sent_counts) >= STUDENTS * FPS * SECONDS * 0.25
    assert sum(message["skipped"] for messages in replies for message in messages) > 0, "past capacity, frames are skipped"
    # Past capacity, feedback tells each page its equal share, well under the 30 fps it sends.
    shares = [message["fair_fps"] for messages in replies for message in messages[len(messages) // 2:]]
    assert any(shares) and all(share is None or 1 <= share < FPS for share in shares), shares[:20]

    for pupil in pupils:
        await pupil.disconnect()
    events = []
    while len([event for event in events if event["type"] == "student.left"]) < STUDENTS:
        events.append(await receive(watcher, timeout=30))
    updates = Counter(event["student"]["id"] for event in events if event["type"] == "student.update")
    assert len(updates) == STUDENTS, "the teacher hears about every student"
    # At most 4 a second each, plus the trailing update that carries the newest status.
    assert max(updates.values()) <= 4 * elapsed + 2, (updates, elapsed)
    await watcher.disconnect()


def test_it_gives_each_student_an_equal_share_once_frames_queue():
    from classroom.vision_pool import PoolLoad

    load = PoolLoad()
    # Keeping up: frames are analysed as they come, no share is announced.
    for number in range(20):
        load.record(number * 0.05, student=number % 2, waited_s=0.001, took_s=0.01)
    assert load.fair_fps() is None
    # Saturated: frames wait longer than they take; 3 students share 60 frames a second.
    for number in range(180):
        load.record(1.0 + number / 60, student=number % 3, waited_s=0.03, took_s=0.015)
    assert load.fair_fps() == pytest.approx(20.0, abs=0.5)
