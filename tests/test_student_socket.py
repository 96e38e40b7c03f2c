"""ws/student/<code>/: real frames in, feedback out, through the real ASGI stack (origin check, auth)."""

import asyncio
import base64

import pytest
from socket_helpers import close_code, connect, receive, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.shared_data]

FEEDBACK_KEYS = {"type", "frame", "ts", "state", "engagement", "confidence", "reasons", "face", "ear", "blinks",
                 "blink_rate_per_min", "perclos", "gaze", "head", "expression", "skipped", "processing_ms",
                 "faces", "blink", "eyes_closed", "quality", "fair_fps"}


async def test_it_refuses_an_anonymous_student_with_4401(classroom):
    communicator, connected = await connect(f"/ws/student/{classroom.join_code}/")
    assert connected
    error = await receive(communicator)
    assert (error["type"], error["code"]) == ("error", "not_authenticated")
    assert error["message"]
    assert await close_code(communicator) == 4401


async def test_it_refuses_a_student_of_another_class_with_4403(classroom, other_student):
    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", other_student)
    assert (await receive(communicator))["code"] == "forbidden"
    assert await close_code(communicator) == 4403


async def test_it_refuses_an_unknown_class_with_4404(student):
    communicator, _ = await connect("/ws/student/NOSUCHCLASS/", student)
    assert (await receive(communicator))["code"] == "not_found"
    assert await close_code(communicator) == 4404


async def test_it_answers_a_binary_face_frame_with_feedback(classroom, student, face_frames):
    communicator, connected = await connect(f"/ws/student/{classroom.join_code}/", student)
    assert connected
    await communicator.send_to(bytes_data=face_frames[0][1])
    feedback = await receive(communicator)
    assert set(feedback) == FEEDBACK_KEYS
    assert feedback["type"] == "feedback" and feedback["frame"] == 1 and feedback["ts"] is None
    assert feedback["face"] is True and feedback["state"] == "focused"
    assert 0.15 < feedback["ear"] < 0.5 and 0 <= feedback["engagement"] <= 100
    assert set(feedback["head"]) == {"yaw", "pitch", "roll"} and set(feedback["gaze"]) == {"x", "y"}
    assert feedback["skipped"] == 0
    await communicator.disconnect()


async def test_it_accepts_the_json_frame_format_and_echoes_ts(classroom, student, face_frames):
    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    data_url = "data:image/jpeg;base64," + base64.b64encode(face_frames[0][1]).decode()
    await communicator.send_json_to({"type": "frame", "image": data_url, "frame": 7, "ts": 1234.5})
    feedback = await receive(communicator)
    assert (feedback["frame"], feedback["ts"], feedback["face"]) == (1, 1234.5, True)
    await communicator.disconnect()


async def test_it_says_absent_for_a_picture_without_a_face(classroom, student, nonface_jpeg):
    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    await communicator.send_to(bytes_data=nonface_jpeg)
    feedback = await receive(communicator)
    assert (feedback["face"], feedback["state"], feedback["engagement"]) == (False, "absent", 0)
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"bytes_data": b"\xff\xd8\xff\xe0 this is not really a jpeg"}, "corrupt"),
        ({"bytes_data": b"hello"}, "not_image"),
        ({"text_data": '{"type": "frame", "image": "%%%not base64%%%"}'}, "not_base64"),
        ({"text_data": '{"type": "frame", "image": ""}'}, "empty"),
    ],
)
async def test_it_answers_a_bad_frame_with_an_error_and_keeps_the_socket(classroom, student, face_frames, message, code):
    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    await communicator.send_to(**message)
    error = await receive(communicator)
    assert (error["type"], error["code"], error["frame"]) == ("error", code, 1)
    assert error["message"]
    await communicator.send_to(bytes_data=face_frames[0][1])
    feedback = await receive(communicator)
    assert (feedback["type"], feedback["frame"], feedback["face"]) == ("feedback", 2, True)
    await communicator.disconnect()


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"type": "dance"}', '{"type": "frame"}'])
async def test_it_answers_a_malformed_message_with_an_error(classroom, student, text):
    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    await communicator.send_to(text_data=text)
    error = await receive(communicator)
    assert (error["type"], error["code"]) == ("error", "bad_message")
    await communicator.disconnect()


async def test_it_refuses_a_timestamp_going_backwards(classroom, student, face_frames):
    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    image = base64.b64encode(face_frames[0][1]).decode()
    await communicator.send_json_to({"type": "frame", "image": image, "ts": 5000})
    assert (await receive(communicator))["type"] == "feedback"
    await communicator.send_json_to({"type": "frame", "image": image, "ts": 4000})
    error = await receive(communicator)
    assert (error["code"], error["frame"]) == ("bad_ts", 2)
    await communicator.disconnect()


@pytest.mark.parametrize(("bad_ts", "words", "next_ts"), [
    # A client repeating one ts (or stepping it by a microsecond) would grow the tracker's windows, which are
    # measured in stream time, without bound: capture times under 8 ms apart are refused.
    (5000.001, "8 ms", 5033),
    # A forged ts far in the future would date the student's records years ahead (and once stalled the server,
    # stepping the sample clock forward five seconds at a time): more than a minute ahead of the socket's time is
    # refused.
    (1e13, "ahead", 5100),
])
async def test_it_refuses_a_forged_capture_time_and_goes_on_answering(classroom, student, face_frames, bad_ts, words,
                                                                      next_ts):
    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    image = base64.b64encode(face_frames[0][1]).decode()
    await communicator.send_json_to({"type": "frame", "image": image, "ts": 5000})
    assert (await receive(communicator))["type"] == "feedback"
    await communicator.send_json_to({"type": "frame", "image": image, "ts": bad_ts})
    error = await receive(communicator)
    assert (error["code"], error["frame"]) == ("bad_ts", 2) and words in error["message"]
    await communicator.send_json_to({"type": "frame", "image": image, "ts": next_ts})
    assert (await receive(communicator))["frame"] == 3, "the socket goes on"
    await communicator.disconnect()


async def test_it_keeps_only_the_newest_waiting_frame(classroom, student, face_frames):
    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    for _, frame in face_frames[:12]:
        await communicator.send_to(bytes_data=frame)
    answered, skipped = [], 0
    while sum((len(answered), skipped)) < 12:
        feedback = await receive(communicator)
        answered.append(feedback["frame"])
        skipped += feedback["skipped"]
    assert answered[-1] == 12  # the newest frame is always analysed
    assert answered == sorted(answered) and len(answered) < 12
    assert len(answered) + skipped == 12
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_it_pauses_and_resumes(classroom, student, face_frames):
    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    await communicator.send_json_to({"type": "pause"})
    assert (await receive(communicator))["type"] == "paused"
    await communicator.send_json_to({"type": "resume"})
    assert (await receive(communicator))["type"] == "resumed"
    await communicator.send_json_to({"type": "pause"})
    await receive_until(communicator, "paused")
    await communicator.send_to(bytes_data=face_frames[0][1])  # a frame resumes by itself
    assert (await receive(communicator))["type"] == "resumed"
    assert (await receive(communicator))["type"] == "feedback"
    await communicator.disconnect()


async def test_it_answers_every_pause_and_resume_even_when_nothing_changes(classroom, student):
    # A page that reconnects while paused sends pause again, and its stream may still be paused (the older socket
    # was taken over, not closed); a page whose message goes unanswered takes its socket for dead (4408).
    path = f"/ws/student/{classroom.join_code}/"
    older, _ = await connect(path, student)
    await older.send_json_to({"type": "pause"})
    assert (await receive(older))["type"] == "paused"
    newer, _ = await connect(path, student)
    await newer.send_json_to({"type": "pause"})
    await receive_until(newer, "paused")
    await newer.send_json_to({"type": "resume"})
    await receive_until(newer, "resumed")
    await newer.send_json_to({"type": "resume"})
    await receive_until(newer, "resumed")
    await newer.disconnect()
    await older.disconnect()


async def test_it_answers_a_ping_while_paused_without_resuming(classroom, student, teacher):
    # A paused page sends nothing else, so its pings are what tell it that the connection still carries answers.
    path = f"/ws/student/{classroom.join_code}/"
    communicator, _ = await connect(path, student)
    await communicator.send_json_to({"type": "pause"})
    assert (await receive(communicator))["type"] == "paused"
    await communicator.send_json_to({"type": "ping"})
    assert await receive(communicator) == {"type": "pong"}
    watcher, _ = await connect(f"/ws/teacher/{classroom.join_code}/", teacher)
    [entry] = (await receive(watcher))["students"]
    assert entry["paused"] is True
    await watcher.disconnect()
    await communicator.disconnect()


async def test_it_continues_a_students_blinks_after_a_quick_reconnect(classroom, student, shared_testdata):
    from socket_helpers import jpeg

    from vision.media import read_frames

    clip = [(t, jpeg(rgb)) for _, t, rgb in read_frames(shared_testdata / "zju_eyeblink" / "1" / "000001M_FBN.avi")]

    async def stream(frames):
        communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
        feedback = None
        for t, frame in frames:  # one at a time with the video's own time, so none is skipped
            await communicator.send_json_to({"type": "frame", "image": base64.b64encode(frame).decode(), "ts": t * 1000})
            feedback = await receive_until(communicator, "feedback")
        await communicator.disconnect()
        return feedback

    assert (await stream(clip[:70]))["blinks"] == 1  # labelled blink 1 spans frames 33-47
    await asyncio.sleep(0.1)
    assert (await stream(clip[70:]))["blinks"] == 3  # and the clip has 3


async def test_a_teachers_full_channel_drops_the_snapshot_answer_not_the_student(
    classroom, student, face_frames, settings
):
    from channels.layers import channel_layers, get_channel_layer

    from classroom.groups import students_group

    # A channel holds 2 messages here (100 by default): a teacher that reads nothing fills up at the third.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer",
                                           "CONFIG": {"capacity": 2}}}
    channel_layers.backends.clear()
    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    await communicator.send_to(bytes_data=face_frames[0][1])
    assert (await receive(communicator))["type"] == "feedback"

    layer = get_channel_layer()
    silent_teacher = await layer.new_channel()
    for _ in range(4):
        await layer.group_send(students_group(classroom.join_code), {"type": "snapshot.request",
                                                                     "reply_to": silent_teacher})
    await communicator.send_to(bytes_data=face_frames[1][1])
    assert (await receive(communicator))["frame"] == 2, "the student's socket is still served"
    assert (await layer.receive(silent_teacher))["type"] == "snapshot.student"
    await communicator.disconnect()
