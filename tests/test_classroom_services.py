"""Classes, join codes, membership and who may open which socket (classroom/services.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from classroom import services
from classroom.models import JOIN_CODE_ALPHABET, Classroom, Membership
from classroom.roles import is_teacher
from classroom.services import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_AUTHENTICATED,
    CLOSE_NOT_FOUND,
    AccessDenied,
    classroom_create,
    classroom_join,
    student_access,
    student_display_name,
    teacher_access,
)

pytestmark = pytest.mark.django_db


# Join codes


def test_it_gives_a_new_class_a_code_of_at_least_eight_unambiguous_characters(teacher):
    code = classroom_create(teacher=teacher, name="Physics").join_code
    assert len(code) >= 8
    assert set(code) <= set(JOIN_CODE_ALPHABET)
    assert not set(code) & set("01IO")


def test_it_gives_every_class_its_own_code(teacher):
    codes = {classroom_create(teacher=teacher, name=f"Class {number}").join_code for number in range(50)}
    assert len(codes) == 50


def test_it_tries_another_code_when_the_generated_one_is_taken(teacher, classroom, monkeypatch):
    fresh = iter([classroom.join_code, "FRESHCODE2"])
    monkeypatch.setattr(services, "generate_join_code", lambda: next(fresh))
    assert classroom_create(teacher=teacher, name="Chemistry").join_code == "FRESHCODE2"


def test_it_stores_a_code_upper_case_without_spaces(teacher):
    assert Classroom.objects.create(teacher=teacher, name="Biology", join_code=" biology7 ").join_code == "BIOLOGY7"


def test_it_refuses_to_store_a_code_that_would_break_a_group_name(teacher):
    # Codes become channel-layer group names, which allow no spaces and few punctuation marks.
    with pytest.raises(IntegrityError), transaction.atomic():
        Classroom.objects.create(teacher=teacher, name="Biology", join_code="BIO LOGY")


def test_it_explains_a_bad_code_in_a_form(teacher):
    with pytest.raises(ValidationError, match="6 to 16 letters and digits"):
        Classroom(teacher=teacher, name="Biology", join_code="BIO!").full_clean()


# Creating classes


def test_it_creates_a_class_taught_by_the_teacher(teacher):
    created = classroom_create(teacher=teacher, name="Physics")
    assert (created.name, created.teacher) == ("Physics", teacher)


def test_it_creates_a_class_that_reads_expressions_when_asked_to(teacher):
    assert classroom_create(teacher=teacher, name="Physics", expressions=True).expressions is True


def test_it_refuses_to_create_a_class_for_someone_who_is_not_a_teacher(student):
    with pytest.raises(PermissionDenied):
        classroom_create(teacher=student, name="Physics")
    assert not Classroom.objects.exists()


def test_it_counts_only_members_of_the_teachers_group_as_teachers(teacher, student):
    assert (is_teacher(teacher), is_teacher(student), is_teacher(AnonymousUser())) == (True, False, False)


# Joining


def test_it_makes_a_joining_student_a_member_with_attention_rules_on(teacher, other_student):
    created = classroom_create(teacher=teacher, name="Physics")
    membership = classroom_join(student=other_student, code=created.join_code)
    assert (membership.classroom, membership.student, membership.attention_rules) == (created, other_student, True)


def test_it_keeps_one_membership_when_a_student_joins_twice(classroom, student):
    first = classroom_join(student=student, code=classroom.join_code)
    second = classroom_join(student=student, code=classroom.join_code)
    assert first.pk == second.pk
    assert Membership.objects.filter(classroom=classroom, student=student).count() == 1


def test_it_joins_with_a_code_typed_in_any_case_and_with_spaces(classroom, other_student):
    membership = classroom_join(student=other_student, code=f"  {classroom.join_code.lower()} ")
    assert membership.classroom == classroom


def test_it_refuses_to_join_with_an_unknown_code(classroom, other_student):
    with pytest.raises(Classroom.DoesNotExist):
        classroom_join(student=other_student, code="NOSUCHCODE")


def test_it_refuses_a_teacher_joining_their_own_class(classroom, teacher):
    with pytest.raises(PermissionDenied):
        classroom_join(student=teacher, code=classroom.join_code)
    assert not classroom.memberships.filter(student=teacher).exists()


def test_it_lets_a_teacher_join_another_teachers_class_as_a_student(classroom, other_teacher):
    assert classroom_join(student=other_teacher, code=classroom.join_code).student == other_teacher


# Who may stream as a student


def test_it_gives_a_member_their_membership_with_the_class_loaded(classroom, student, django_assert_num_queries):
    membership = student_access(user=student, code=classroom.join_code.lower())
    # Loaded up front: a consumer reading these on the event loop must not trigger a query.
    with django_assert_num_queries(0):
        assert (membership.classroom, membership.classroom.teacher.username) == (classroom, "teacher")
        assert membership.student.username == "student"


def test_it_asks_an_anonymous_student_to_log_in(classroom):
    with pytest.raises(AccessDenied) as denied:
        student_access(user=AnonymousUser(), code=classroom.join_code)
    assert (denied.value.close_code, denied.value.error_code) == (CLOSE_NOT_AUTHENTICATED, "not_authenticated")
    assert denied.value.message == "Log in to join this class."


def test_it_tells_a_student_there_is_no_class_with_an_unknown_code(student):
    with pytest.raises(AccessDenied) as denied:
        student_access(user=student, code="NOSUCHCODE")
    assert (denied.value.close_code, denied.value.error_code) == (CLOSE_NOT_FOUND, "not_found")
    assert denied.value.message == "There is no class with this code."


def test_it_refuses_a_student_who_is_not_a_member(classroom, other_student):
    with pytest.raises(AccessDenied) as denied:
        student_access(user=other_student, code=classroom.join_code)
    assert (denied.value.close_code, denied.value.error_code) == (CLOSE_FORBIDDEN, "forbidden")
    assert denied.value.message == "You are not a member of this class."


def test_it_refuses_staff_who_are_not_members_as_students(classroom, make_user):
    # Only members are monitored; being staff or superuser does not put anyone on the dashboard.
    admin = make_user("admin", is_staff=True, is_superuser=True)
    with pytest.raises(AccessDenied) as denied:
        student_access(user=admin, code=classroom.join_code)
    assert denied.value.close_code == CLOSE_FORBIDDEN


def test_it_refuses_the_teacher_as_a_student_of_their_own_class(classroom, teacher):
    with pytest.raises(AccessDenied) as denied:
        student_access(user=teacher, code=classroom.join_code)
    assert denied.value.close_code == CLOSE_FORBIDDEN


# Who may watch as a teacher


def test_it_lets_the_teacher_watch_their_class(classroom, teacher, django_assert_num_queries):
    watched = teacher_access(user=teacher, code=f" {classroom.join_code.lower()}")
    with django_assert_num_queries(0):
        assert (watched, watched.teacher) == (classroom, teacher)


def test_it_asks_an_anonymous_watcher_to_log_in(classroom):
    with pytest.raises(AccessDenied) as denied:
        teacher_access(user=AnonymousUser(), code=classroom.join_code)
    assert (denied.value.close_code, denied.value.error_code) == (CLOSE_NOT_AUTHENTICATED, "not_authenticated")
    assert denied.value.message == "Log in to watch this class."


def test_it_tells_a_teacher_there_is_no_class_with_an_unknown_code(teacher):
    with pytest.raises(AccessDenied) as denied:
        teacher_access(user=teacher, code="NOSUCHCODE")
    assert (denied.value.close_code, denied.value.error_code) == (CLOSE_NOT_FOUND, "not_found")
    assert denied.value.message == "There is no class with this code."


def test_it_refuses_another_teacher_watching_the_class(classroom, other_teacher):
    with pytest.raises(AccessDenied) as denied:
        teacher_access(user=other_teacher, code=classroom.join_code)
    assert (denied.value.close_code, denied.value.error_code) == (CLOSE_FORBIDDEN, "forbidden")
    assert denied.value.message == "Only this class's teacher can watch it."


def test_it_refuses_a_student_watching_their_own_class(classroom, student):
    with pytest.raises(AccessDenied) as denied:
        teacher_access(user=student, code=classroom.join_code)
    assert denied.value.close_code == CLOSE_FORBIDDEN


def test_it_lets_a_superuser_watch_any_class(classroom, make_user):
    admin = make_user("admin", is_staff=True, is_superuser=True)
    assert teacher_access(user=admin, code=classroom.join_code) == classroom


def test_it_refuses_staff_who_are_not_superusers_watching_a_class(classroom, make_user):
    staff = make_user("staff", is_staff=True)
    with pytest.raises(AccessDenied) as denied:
        teacher_access(user=staff, code=classroom.join_code)
    assert denied.value.close_code == CLOSE_FORBIDDEN


# Names on the dashboard


def test_it_shows_a_students_full_name(make_user):
    assert student_display_name(make_user("ada", first_name="Ada", last_name="Lovelace")) == "Ada Lovelace"


def test_it_shows_the_username_of_a_student_without_a_name(student):
    assert student_display_name(student) == "student"
