"""`manage.py seed_demo`: the demo teacher, students and class for trying SmartSession locally."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from classroom.models import Classroom, Membership
from classroom.roles import is_teacher
from classroom.services import student_access, teacher_access

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]


@pytest.fixture(autouse=True)
def _local_development(settings, monkeypatch):
    # As under `make run`: DEBUG on (Django's test set-up turns it off) and no password chosen, since
    # the developer's own SMARTSESSION_DEMO_PASSWORD must not change what these tests see.
    settings.DEBUG = True
    monkeypatch.delenv("SMARTSESSION_DEMO_PASSWORD", raising=False)


def seed(*args: str) -> tuple[str, str]:
    stdout, stderr = StringIO(), StringIO()
    call_command("seed_demo", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def usernames() -> list[str]:
    return sorted(get_user_model().objects.values_list("username", flat=True))


def snapshot() -> dict:
    """Every row seed_demo may write, so a second run can be compared with the first."""
    return {
        "users": list(get_user_model().objects.order_by("pk").values()),
        "groups": list(Group.objects.order_by("pk").values("pk", "name", "user")),
        "classes": list(Classroom.objects.order_by("pk").values()),
        "memberships": list(Membership.objects.order_by("pk").values()),
    }


def test_it_creates_the_demo_teacher_in_the_teachers_group():
    seed()
    assert is_teacher(get_user_model().objects.get(username="teacher"))


def test_it_creates_the_demo_class_with_code_democlass_taught_by_the_demo_teacher():
    seed()
    demo = teacher_access(user=get_user_model().objects.get(username="teacher"), code="democlass")
    assert (demo.name, demo.join_code, demo.expressions) == ("Demo class", "DEMOCLASS", True)


def test_it_creates_three_students_who_are_members_of_the_demo_class_yet_to_consent():
    seed()
    assert usernames() == ["student1", "student2", "student3", "teacher"]
    for student in get_user_model().objects.filter(username__startswith="student"):
        # Each demo student meets the consent step first, as a real one would.
        membership = student_access(user=student, code="DEMOCLASS", require_consent=False)
        assert membership.classroom.name == "Demo class" and membership.consented_at is None


def test_it_creates_as_many_students_as_asked():
    seed("--students", "5")
    assert Membership.objects.filter(classroom__join_code="DEMOCLASS").count() == 5
    assert "student5" in usernames()


def test_it_gives_every_demo_account_the_published_password_and_warns_it_is_for_local_use():
    stdout, stderr = seed()
    assert all(user.check_password("smartsession") for user in get_user_model().objects.all())
    assert "for local use only" in stderr
    assert "join code DEMOCLASS" in stdout


def test_it_takes_the_password_from_the_environment_and_does_not_print_it(monkeypatch):
    monkeypatch.setenv("SMARTSESSION_DEMO_PASSWORD", "from-the-env-2")
    stdout, stderr = seed()
    assert all(user.check_password("from-the-env-2") for user in get_user_model().objects.all())
    assert "from-the-env-2" not in stdout + stderr
    assert stderr == ""


def test_it_takes_the_password_option_over_the_environment(monkeypatch):
    monkeypatch.setenv("SMARTSESSION_DEMO_PASSWORD", "from-the-env-2")
    seed("--password", "from-the-option-3")
    assert get_user_model().objects.get(username="student1").check_password("from-the-option-3")


def test_it_changes_nothing_when_run_twice():
    seed()
    before = snapshot()
    seed()
    assert snapshot() == before


def test_it_changes_only_the_passwords_when_run_again_with_another_password():
    seed()
    before = snapshot()
    seed("--password", "a-new-one-4")
    after = snapshot()
    for user in before["users"] + after["users"]:
        user.pop("password")
    assert after == before
    assert get_user_model().objects.get(username="teacher").check_password("a-new-one-4")


def test_it_refuses_the_published_password_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="SMARTSESSION_DEMO_PASSWORD"):
        seed()
    assert not get_user_model().objects.exists()


def test_it_seeds_with_a_chosen_password_when_debug_is_off(settings, monkeypatch):
    settings.DEBUG = False
    monkeypatch.setenv("SMARTSESSION_DEMO_PASSWORD", "from-the-env-2")
    seed()
    assert get_user_model().objects.get(username="teacher").check_password("from-the-env-2")


def test_it_refuses_a_negative_number_of_students():
    with pytest.raises(CommandError, match="0 or more"):
        seed("--students", "-1")


def test_it_gives_the_demo_accounts_display_names_for_the_pages():
    from classroom.services import student_display_name

    seed("--students", "32")
    users = get_user_model().objects
    assert student_display_name(users.get(username="teacher")) == "Maria Rossi"
    names = [student_display_name(users.get(username=f"student{number}")) for number in range(1, 33)]
    assert names[0] == "Amara Okafor" and names[31] == "Student 32"
    assert len(set(names)) == 32


def test_it_keeps_a_name_someone_gave_a_demo_account(client):
    seed()
    get_user_model().objects.filter(username="student1").update(first_name="Sam", last_name="Renamed")
    seed()
    assert get_user_model().objects.get(username="student1").get_full_name() == "Sam Renamed"


def test_it_names_the_teacher_on_the_consent_page(client):
    seed()
    client.force_login(get_user_model().objects.get(username="student1"))
    assert "Your teacher, Maria Rossi, sees live" in client.get("/class/DEMOCLASS/").content.decode()
