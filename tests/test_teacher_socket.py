"""ws/teacher/<code>/: the snapshot, live updates, joins and leaves, alerts, and who may watch."""

import asyncio

import pytest
from socket_helpers import close_code, connect, receive, receive_until

from classroom import alerts as alert_rules

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.shared_data]


async def test_it_refuses_an_anonymous_watcher_with_4401(classroom):
    communicator, _ = await connect(f"/ws/teacher/{classroom.join_code}/")
    assert (await receive(communicator))["code"] == "not_authenticated"
    assert await close_code(communicator) == 4401


@pytest.mark.parametrize("who", ["other_teacher", "student"])
async def test_it_refuses_anyone_but_the_classes_teacher_with_4403(classroom, other_teacher, student, who):
    user = {"other_teacher": other_teacher, "student": student}[who]
    communicator, _ = await connect(f"/ws/teacher/{classroom.join_code}/", user)
    assert (await receive(communicator))["code"] == "forbidden"
    assert await close_code(communicator) == 4403


async def test_it_refuses_an_unknown_class_with_4404(teacher):
    communicator, _ = await connect("/ws/teacher/NOSUCHCLASS/", teacher)
    assert (await receive(communicator))["code"] == "not_found"
    assert await close_code(communicator) == 4404


async def test_it_sends_an_empty_snapshot_of_a_quiet_class(classroom, teacher):
    communicator, connected = await connect(f"/ws/teacher/{classroom.join_code}/", teacher)
    assert connected
    snapshot = await receive(communicator)
    assert snapshot == {
        "type": "snapshot",
        "classroom": {"code": classroom.join_code, "name": classroom.name, "expressions": False},
        "students": [],
    }
    await communicator.disconnect()


async def test_it_answers_a_ping_so_a_quiet_dashboard_can_tell_its_connection_lives(classroom, teacher):
    # With nobody streaming the server has nothing to say; the page's ping is what it hears back from.
    watcher, _ = await connect(f"/ws/teacher/{classroom.join_code}/", teacher)
    assert (await receive(watcher))["type"] == "snapshot"
    await watcher.send_json_to({"type": "ping"})
    assert await receive(watcher) == {"type": "pong"}
    await watcher.disconnect()


@pytest.mark.parametrize("message", [{"text_data": "not json"}, {"text_data": '{"type": "frame"}'},
                                     {"bytes_data": b"\xff\xd8"}])
async def test_it_answers_anything_but_a_ping_with_an_error_and_stays_open(classroom, teacher, message):
    watcher, _ = await connect(f"/ws/teacher/{classroom.join_code}/", teacher)
    assert (await receive(watcher))["type"] == "snapshot"
    await watcher.send_to(**message)
    error = await receive(watcher)
    assert (error["type"], error["code"], error["frame"]) == ("error", "bad_message", None)
    assert "ping" in error["message"]
    await watcher.send_json_to({"type": "ping"})
    assert await receive(watcher) == {"type": "pong"}
    await watcher.disconnect()


async def test_it_shows_a_streaming_student_in_the_snapshot(classroom, teacher, student, face_frames):
    pupil, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    await pupil.send_to(bytes_data=face_frames[0][1])
    await receive_until(pupil, "feedback")
    watcher, _ = await connect(f"/ws/teacher/{classroom.join_code}/", teacher)
    snapshot = await receive(watcher)
    [entry] = snapshot["students"]
    assert (entry["id"], entry["username"], entry["paused"]) == (student.pk, student.username, False)
    assert entry["state"] == "focused" and entry["face"] is True and "last_seen" in entry and "display_name" in entry
    await pupil.disconnect()
    await watcher.disconnect()


async def test_it_says_how_old_a_students_latest_status_is(classroom, teacher, student, face_frames):
    pupil, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    await pupil.send_to(bytes_data=face_frames[0][1])
    await receive_until(pupil, "feedback")
    await asyncio.sleep(0.6)  # the camera went quiet before the teacher looked
    watcher, _ = await connect(f"/ws/teacher/{classroom.join_code}/", teacher)
    [entry] = (await receive(watcher))["students"]
    assert 0.5 <= entry["feedback_age_s"] < 5
    await pupil.disconnect()
    await watcher.disconnect()


async def test_it_tells_the_teacher_who_joins_streams_pauses_and_leaves(classroom, teacher, student, face_frames):
    watcher, _ = await connect(f"/ws/teacher/{classroom.join_code}/", teacher)
    assert (await receive(watcher))["type"] == "snapshot"
    pupil, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    joined = await receive(watcher)
    assert (joined["type"], joined["student"]["username"]) == ("student.joined", student.username)

    await pupil.send_to(bytes_data=face_frames[0][1])
    update = await receive_until(watcher, "student.update")
    assert update["student"]["state"] == "focused" and update["student"]["engagement"] >= 0
    assert "ts" not in update["student"] and update["student"]["id"] == student.pk

    await pupil.send_json_to({"type": "pause"})
    paused = await receive_until(watcher, "student.update")
    assert paused["student"]["paused"] is True

    await pupil.disconnect()
    left = await receive_until(watcher, "student.left")
    assert left["student"]["id"] == student.pk
    await watcher.disconnect()


async def test_a_frame_answered_after_the_student_left_does_not_bring_them_back(classroom, teacher, student,
                                                                                 face_frames):
    watcher, _ = await connect(f"/ws/teacher/{classroom.join_code}/", teacher)
    assert (await receive(watcher))["type"] == "snapshot"
    pupil, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    await pupil.send_to(bytes_data=face_frames[0][1])
    await receive_until(pupil, "feedback")
    await pupil.send_to(bytes_data=face_frames[1][1])  # still being analysed as the student goes
    await pupil.disconnect()

    await receive_until(watcher, "student.left")
    # The frame's answer comes after the teacher heard they left: it is recorded, but no update follows.
    assert await watcher.receive_nothing(timeout=1.0), await receive(watcher)
    await watcher.disconnect()


async def test_it_alerts_the_teacher_to_a_silent_camera_only_once_it_has_sent_pictures(
        classroom, teacher, student, nonface_jpeg, monkeypatch):
    from classroom import live

    monkeypatch.setattr(alert_rules, "CAMERA_SILENT_S", 0.5)
    monkeypatch.setattr(live, "CAMERA_CHECK_EVERY_S", 0.1)
    watcher, _ = await connect(f"/ws/teacher/{classroom.join_code}/", teacher)
    await receive(watcher)
    pupil, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    await receive_until(watcher, "student.joined")
    # Connected, but the page is still starting (an on-device model downloading): nothing has stopped yet.
    assert await watcher.receive_nothing(timeout=1.5), await receive(watcher)

    await pupil.send_to(bytes_data=nonface_jpeg)
    await receive_until(pupil, "feedback")
    alert = await receive_until(watcher, "alert")
    assert alert["kind"] == "camera_stopped" and alert["reason"].startswith("no picture from the camera for")
    from sessions_app.models import Alert

    async with asyncio.timeout(5):  # stored too, as every alert a teacher is sent; and written before the end
        while not await Alert.objects.filter(student=student, kind="camera_stopped").aexists():
            await asyncio.sleep(0.1)
    await pupil.disconnect()
    await watcher.disconnect()


async def test_it_alerts_the_teacher_when_a_student_stays_absent(classroom, teacher, student, nonface_jpeg, monkeypatch):
    monkeypatch.setattr(alert_rules, "HOLD_S", 0.3)  # the rule, not ten seconds of waiting
    watcher, _ = await connect(f"/ws/teacher/{classroom.join_code}/", teacher)
    await receive(watcher)
    pupil, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    for _ in range(4):
        await pupil.send_to(bytes_data=nonface_jpeg)
        await receive_until(pupil, "feedback")
        await asyncio.sleep(0.15)
    alert = await receive_until(watcher, "alert")
    assert (alert["kind"], alert["student"]["id"]) == ("absent", student.pk)
    assert alert["reason"].startswith("away from the camera for") and alert["time"]
    await pupil.disconnect()
    await watcher.disconnect()
