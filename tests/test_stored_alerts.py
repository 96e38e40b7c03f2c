"""Alerts are stored (student, kind, reason, time, lesson): a reloaded dashboard and the history show them."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from rest_framework.test import APIClient
from socket_helpers import connect, receive_until

from sessions_app.models import Alert, Lesson
from sessions_app.services import AlertIn, alerts_record

pytestmark = pytest.mark.django_db(transaction=True)


def page_config(html: str, element_id: str) -> dict:
    opening = f'<script id="{element_id}" type="application/json">'
    start = html.index(opening) + len(opening)
    return json.loads(html[start:html.index("</script>", start)])


async def stored_alerts(count: int) -> list[Alert]:
    def load():
        return list(Alert.objects.select_related("lesson", "session", "student").order_by("time"))

    for _ in range(100):
        alerts = await database_sync_to_async(load)()
        if len(alerts) >= count:
            return alerts
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} alert(s) were not stored")


async def test_it_stores_the_alert_the_teacher_was_sent_with_its_lesson(
    classroom, student, teacher, face_frames, nonface_jpeg
):
    watcher, _ = await connect(f"/ws/teacher/{classroom.join_code}/", teacher)
    await receive_until(watcher, "snapshot")
    communicator, _ = await connect(f"/ws/student/{classroom.join_code}/", student)
    for _, jpeg in face_frames[:5]:
        await communicator.send_to(bytes_data=jpeg)
        await receive_until(communicator, "feedback")
    await communicator.send_to(bytes_data=nonface_jpeg)  # the face goes out of view
    await receive_until(communicator, "feedback")
    sent = await receive_until(watcher, "alert")
    [alert] = await stored_alerts(1)
    await communicator.disconnect()
    await watcher.disconnect()

    assert (alert.student, alert.kind, alert.reason) == (student, "face_lost", sent["reason"])
    assert alert.time.isoformat(timespec="seconds") == sent["time"]
    assert alert.session is not None and alert.session.student_id == student.pk
    assert alert.lesson_id == alert.session.lesson_id and alert.lesson.classroom_id == classroom.pk


def test_it_shows_the_lessons_alerts_on_a_reloaded_dashboard(client, teacher, student, classroom):
    from sessions_app.services import session_start

    session, _ = session_start(student=student, classroom=classroom)
    now = timezone.now()
    alerts_record(
        student_id=student.pk, classroom_id=classroom.pk, session_id=session.pk,
        alerts=[AlertIn("distracted", "distracted for 11 s", now), AlertIn("face_lost", "face lost from view", now)],
    )
    client.force_login(teacher)
    config = page_config(client.get(f"/teach/{classroom.join_code}/").content.decode(), "dashboard-config")
    assert [(alert["kind"], alert["reason"], alert["student"]["id"]) for alert in config["alerts"]] == [
        ("distracted", "distracted for 11 s", student.pk),
        ("face_lost", "face lost from view", student.pk),
    ]
    assert config["lesson"]["id"] == session.lesson_id


def test_it_leaves_the_alerts_of_an_ended_lesson_off_the_dashboard(client, teacher, student, classroom):
    from sessions_app.services import lesson_end, session_start

    session, _ = session_start(student=student, classroom=classroom)
    alerts_record(student_id=student.pk, classroom_id=classroom.pk, session_id=session.pk,
                  alerts=[AlertIn("drowsy", "drowsy for 12 s", timezone.now())])
    lesson_end(lesson_id=session.lesson_id)
    client.force_login(teacher)
    config = page_config(client.get(f"/teach/{classroom.join_code}/").content.decode(), "dashboard-config")
    assert config["alerts"] == [] and config["lesson"] is None


def test_it_lists_the_alerts_in_order_on_the_lesson_report_and_in_the_api(
    client, teacher, student, other_student, classroom
):
    from classroom.services import classroom_join
    from sessions_app.services import session_start

    classroom_join(student=other_student, code=classroom.join_code)
    mine, _ = session_start(student=student, classroom=classroom)
    theirs, _ = session_start(student=other_student, classroom=classroom)
    now = timezone.now()
    alerts_record(student_id=other_student.pk, classroom_id=classroom.pk, session_id=theirs.pk,
                  alerts=[AlertIn("absent", "away from the camera for 11 s", now)])
    alerts_record(student_id=student.pk, classroom_id=classroom.pk, session_id=mine.pk,
                  alerts=[AlertIn("camera_stopped", "no picture from the camera for 5 s", now - timezone.timedelta(seconds=30))])

    client.force_login(teacher)
    page = client.get(f"/lessons/{mine.lesson_id}/").content.decode()
    camera = page.index("no picture from the camera for 5 s")
    assert camera < page.index("away from the camera for 11 s")  # in time order

    api = APIClient()
    api.force_authenticate(teacher)
    kinds = [alert["kind"] for alert in api.get(f"/api/lessons/{mine.lesson_id}/").data["alerts"]]
    assert kinds == ["camera_stopped", "absent"]
    api.force_authenticate(student)  # a student sees their own alerts only
    detail = api.get(f"/api/lessons/{mine.lesson_id}/").data
    assert [(alert["student"], alert["kind"]) for alert in detail["alerts"]] == [(student.username, "camera_stopped")]


def test_it_stores_an_alert_before_the_first_frame_in_the_lesson_in_progress(student, classroom):
    [alert] = alerts_record(student_id=student.pk, classroom_id=classroom.pk,
                            alerts=[AlertIn("camera_stopped", "no picture from the camera for 5 s", timezone.now())])
    assert alert.session is None
    assert alert.lesson == Lesson.objects.get(classroom=classroom, ended_at__isnull=True)
