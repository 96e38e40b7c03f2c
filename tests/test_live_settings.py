"""Changes made on the pages reach a stream in progress: consent, accommodations, expression-free mode."""

import base64

import pytest
from asgiref.sync import sync_to_async
from socket_helpers import close_code, connect, receive, receive_until, save_meanwhile

from classroom.models import Membership

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.shared_data]

FRONTAL = "aflw2000/image00050.jpg"  # yaw 0.9 degrees
TURNED = "aflw2000/image00251.jpg"  # yaw -54.7 degrees: looking well away from the screen


@pytest.fixture
def image_frame(shared_testdata):
    def frame(name: str, ts_ms: float) -> dict:
        data = base64.b64encode((shared_testdata / name).read_bytes()).decode()
        return {"type": "frame", "image": data, "ts": ts_ms}

    return frame


async def states_while_streaming(communicator, image_frame, name: str, start_ms: int, stop_ms: int) -> list[str]:
    # One frame at a time, each answered before the next, at 5 fps of capture time.
    states = []
    for ts in range(start_ms, stop_ms, 200):
        await communicator.send_json_to(image_frame(name, ts))
        states.append((await receive_until(communicator, "feedback"))["state"])
    return states


async def test_it_refuses_a_member_who_has_not_consented(classroom, other_student):
    from classroom.services import classroom_join

    await sync_to_async(classroom_join)(student=other_student, code=classroom.join_code)
    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", other_student)
    assert (await receive(communicator))["code"] == "consent_required"
    assert await close_code(communicator) == 4403


async def test_it_closes_the_stream_when_the_student_withdraws_consent(classroom, student, face_frames):
    from classroom.services import membership_withdraw_consent

    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    await communicator.send_to(bytes_data=face_frames[0][1])
    await receive_until(communicator, "feedback")
    membership = await Membership.objects.select_related("classroom").aget(classroom=classroom, student=student)
    await save_meanwhile(membership_withdraw_consent, membership=membership)
    assert (await receive_until(communicator, "error"))["code"] == "consent_required"
    assert await close_code(communicator) == 4403


async def test_it_marks_a_student_looking_away_distracted_with_the_rules_on(classroom, student, image_frame):
    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    await states_while_streaming(communicator, image_frame, FRONTAL, 0, 3000)
    assert "distracted" in await states_while_streaming(communicator, image_frame, TURNED, 3000, 7000)
    await communicator.disconnect()


async def test_it_applies_an_accommodation_to_a_stream_in_progress(classroom, student, teacher, image_frame):
    from classroom.services import membership_set_attention_rules

    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    watcher, _ = await connect(f"/ws/teacher/{classroom.join_code}/", teacher)
    await states_while_streaming(communicator, image_frame, FRONTAL, 0, 3000)
    await save_meanwhile(membership_set_attention_rules, classroom=classroom, student_id=student.pk, enabled=False)
    states = await states_while_streaming(communicator, image_frame, TURNED, 3000, 7000)
    assert "distracted" not in states and "absent" not in states
    # The teacher's cards learn it from the status too.
    while (update := await receive_until(watcher, "student.update"))["student"]["attention_rules"]:
        pass
    assert update["student"]["id"] == student.pk
    await communicator.disconnect()
    await watcher.disconnect()


async def test_it_stops_reading_expressions_when_the_class_goes_expression_free(classroom, student, face_frames):
    from classroom.services import classroom_set_expressions

    await save_meanwhile(classroom_set_expressions, classroom=classroom, expressions=True)
    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    await communicator.send_to(bytes_data=face_frames[0][1])
    assert (await receive_until(communicator, "feedback"))["expression"] is not None
    await save_meanwhile(classroom_set_expressions, classroom=classroom, expressions=False)
    await communicator.send_to(bytes_data=face_frames[1][1])
    assert (await receive_until(communicator, "feedback"))["expression"] is None
    await communicator.disconnect()
