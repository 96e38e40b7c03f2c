"""The server-rendered pages: who sees what, joining, consent, creating classes, settings and accommodations."""

import json
import re

import pytest

from classroom.models import Classroom, Membership

pytestmark = pytest.mark.django_db


def page_config(response, element_id: str) -> dict:
    """The JSON a page hands its script (json_script), as the script would read it."""
    html = response.content.decode()
    opening = f'<script id="{element_id}" type="application/json">'
    start = html.index(opening) + len(opening)
    return json.loads(html[start:html.index("</script>", start)])


@pytest.fixture
def joined(student, classroom):
    return Membership.objects.get(student=student, classroom=classroom)


def test_it_tells_a_visitor_what_smartsession_does_and_offers_log_in(client):
    page = client.get("/").content.decode()
    assert "No picture or video is ever stored" not in page  # that promise is the consent step's
    assert "no picture is ever stored" in page
    assert 'href="/accounts/login/"' in page
    assert 'href="/static/css/smartsession.css"' in page


def test_it_logs_a_student_in_and_lists_their_classes(client, make_user, classroom):
    student = make_user("lena", password="a-long-passphrase")
    Membership.objects.create(student=student, classroom=classroom)
    response = client.post("/accounts/login/", {"username": "lena", "password": "a-long-passphrase"}, follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/"
    assert "My classes" in page and classroom.name in page
    assert f'href="/class/{classroom.join_code}/"' in page


def test_it_sends_a_teacher_from_the_start_page_to_their_classes(client, teacher):
    client.force_login(teacher)
    assert client.get("/").url == "/teach/"


def test_it_joins_a_class_by_code_typed_in_any_case(client, other_student, classroom):
    client.force_login(other_student)
    response = client.post("/join/", {"code": f" {classroom.join_code.lower()} "})
    assert response.url == f"/class/{classroom.join_code}/"
    assert Membership.objects.filter(student=other_student, classroom=classroom).exists()


def test_it_says_when_no_class_has_the_code(client, other_student):
    client.force_login(other_student)
    response = client.post("/join/", {"code": "NOSUCHCODE"})
    assert response.status_code == 200
    assert "There is no class with this code" in response.content.decode()


def test_it_shows_the_consent_step_before_the_class_page(client, other_student, classroom):
    Classroom.objects.filter(pk=classroom.pk).update(expressions=True)
    client.force_login(other_student)
    client.post("/join/", {"code": classroom.join_code})
    page = client.get(f"/class/{classroom.join_code}/").content.decode()
    assert "No picture or video is ever stored" in page and "your expression" in page
    assert 'id="consent"' in page and "student-config" not in page


def test_it_never_mentions_expressions_to_a_student_of_an_expression_free_class(client, other_student, classroom):
    Classroom.objects.filter(pk=classroom.pk).update(expressions=False)
    Membership.objects.create(student=other_student, classroom=classroom)
    client.force_login(other_student)
    page = client.get(f"/class/{classroom.join_code}/").content.decode()
    assert "expression-free mode" in page and "your expression" not in page


def test_it_records_consent_and_then_serves_the_class_page(client, other_student, classroom):
    membership = Membership.objects.create(student=other_student, classroom=classroom)
    client.force_login(other_student)
    assert client.post(f"/class/{classroom.join_code}/consent/").url == f"/class/{classroom.join_code}/"
    membership.refresh_from_db()
    assert membership.consented_at is not None
    config = page_config(client.get(f"/class/{classroom.join_code}/"), "student-config")
    assert config["wsPath"] == f"/ws/student/{classroom.join_code}/"
    assert (config["frameWidth"], config["maxFps"], config["jpegQuality"]) == (640, 10, 0.7)


def test_it_takes_frame_width_and_rate_from_the_settings(client, student, joined, settings):
    settings.SMARTSESSION_FRAME_WIDTH, settings.SMARTSESSION_MAX_FPS = 320, 5
    client.force_login(student)
    config = page_config(client.get(f"/class/{joined.classroom.join_code}/"), "student-config")
    assert (config["frameWidth"], config["maxFps"]) == (320, 5)


def test_it_withdraws_consent(client, student, joined):
    client.force_login(student)
    assert client.post(f"/class/{joined.classroom.join_code}/consent/withdraw/").url == "/"
    joined.refresh_from_db()
    assert joined.consented_at is None


def test_it_refuses_the_class_page_to_a_non_member_and_unknown_codes(client, other_student, classroom):
    client.force_login(other_student)
    assert client.get(f"/class/{classroom.join_code}/").status_code == 403
    assert client.get("/class/NOSUCHCODE/").status_code == 404


def test_it_sends_an_anonymous_visitor_to_log_in_first(client, classroom):
    for path in (f"/class/{classroom.join_code}/", "/join/", "/teach/", f"/teach/{classroom.join_code}/"):
        response = client.get(path)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/?next="), path


def test_it_lets_a_teacher_create_an_expression_free_class_and_shows_its_code(client, teacher):
    client.force_login(teacher)
    response = client.post("/teach/", {"name": "History 2", "expression_free": "on"}, follow=True)
    created = Classroom.objects.get(name="History 2")
    assert created.expressions is False and created.teacher == teacher
    page = response.content.decode()
    assert created.join_code in page and "Expression-free" in page


def test_it_refuses_teacher_pages_to_a_student(client, student, classroom):
    client.force_login(student)
    assert client.get("/teach/").status_code == 403
    assert client.post("/teach/", {"name": "Mine now"}).status_code == 403
    assert client.get(f"/teach/{classroom.join_code}/").status_code == 403
    assert not Classroom.objects.filter(name="Mine now").exists()


def test_it_shows_the_dashboard_only_to_the_class_teacher(client, teacher, other_teacher, classroom):
    client.force_login(other_teacher)
    assert client.get(f"/teach/{classroom.join_code}/").status_code == 403
    assert client.get(f"/teach/{classroom.join_code}/settings/").status_code == 403
    client.force_login(teacher)
    assert client.get("/teach/NOSUCHCODE/").status_code == 404
    assert client.get(f"/teach/{classroom.join_code}/").status_code == 200


def test_it_gives_the_dashboard_every_member_and_the_last_ten_minutes(
    client, teacher, student, classroom, make_session, make_sample
):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    samples = [
        make_sample(now - timedelta(minutes=ago), engagement=value) for ago, value in ((20, 10), (4, 60), (3, 80))
    ]
    make_session(student, classroom=classroom, started_at=now - timedelta(minutes=30), samples=samples)
    client.force_login(teacher)
    config = page_config(client.get(f"/teach/{classroom.join_code}/"), "dashboard-config")
    assert config["wsPath"] == f"/ws/teacher/{classroom.join_code}/"
    assert [member["id"] for member in config["members"]] == [student.pk]
    assert [point["engagement"] for point in config["timeline"]] == [60, 80]


def test_it_turns_a_students_gaze_and_head_rules_off_and_on(client, teacher, student, joined):
    client.force_login(teacher)
    url = f"/teach/{joined.classroom.join_code}/settings/"
    client.post(url, {"student": student.pk, "enabled": "0"})
    joined.refresh_from_db()
    assert joined.attention_rules is False
    assert "Off (accommodation)" in client.get(url).content.decode()
    client.post(url, {"student": student.pk, "enabled": "1"})
    joined.refresh_from_db()
    assert joined.attention_rules is True


def test_it_refuses_an_accommodation_for_someone_outside_the_class(client, teacher, other_student, classroom):
    client.force_login(teacher)
    response = client.post(f"/teach/{classroom.join_code}/settings/", {"student": other_student.pk, "enabled": "0"})
    assert response.status_code == 404


def test_it_sets_the_class_time_zone_and_puts_the_teacher_on_a_wrong_one(client, teacher, classroom):
    client.force_login(teacher)
    url = f"/teach/{classroom.join_code}/settings/"
    wrong = client.post(url, {"time_zone": "Mars/Olympus"})
    assert wrong.status_code == 400
    field = re.search(r'<input[^>]*name="time_zone"[^>]*>', wrong.content.decode()).group(0)
    assert "autofocus" in field and 'aria-invalid="true"' in field, field
    assert client.post(url, {"time_zone": "Europe/Berlin"}).status_code == 302
    classroom.refresh_from_db()
    assert classroom.time_zone == "Europe/Berlin"


def test_it_switches_a_class_to_expression_free_mode(client, teacher, classroom):
    client.force_login(teacher)
    client.post(f"/teach/{classroom.join_code}/settings/", {"enabled": "1"})
    classroom.refresh_from_db()
    assert classroom.expressions is False


def test_it_shows_admin_links_to_staff_only(client, student, staff_user):
    client.force_login(student)
    assert 'href="/admin/"' not in client.get("/").content.decode()
    client.force_login(staff_user)
    assert 'href="/admin/"' in client.get("/join/").content.decode()


def test_it_saves_a_setting_even_when_the_channel_layer_is_down(
    client, teacher, student, joined, settings, django_capture_on_commit_callbacks, caplog
):
    from channels.layers import channel_layers

    # Nothing listens on port 1: every group_send fails, as with Redis down.
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "classroom.layers.ResilientRedisChannelLayer",
                    "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}}
    }
    channel_layers.backends.clear()
    client.force_login(teacher)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/teach/{joined.classroom.join_code}/settings/", {"student": student.pk, "enabled": "0"}
        )
    assert response.status_code == 302
    joined.refresh_from_db()
    assert joined.attention_rules is False
    assert "Channel layer down" in caplog.text


def test_it_sends_a_superuser_to_a_page_of_every_class(client, make_user, classroom, other_teacher):
    from classroom.services import classroom_create

    elsewhere = classroom_create(teacher=other_teacher, name="Elsewhere")
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/classes/"
    page = response.content.decode()
    for shown in (classroom, elsewhere):
        assert shown.name in page and f'href="/teach/{shown.join_code}/"' in page


def test_it_keeps_the_page_of_every_class_from_anyone_else(client, teacher):
    client.force_login(teacher)
    assert client.get("/classes/").status_code == 403
