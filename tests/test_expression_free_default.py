"""New classes are expression-free; turning expressions on says what it means and where the law forbids it."""

from __future__ import annotations

import pytest

from classroom.models import Classroom
from classroom.services import classroom_create

pytestmark = pytest.mark.django_db

AI_ACT = "article 5(1)(f)"


def test_it_creates_classes_in_expression_free_mode(teacher):
    assert classroom_create(teacher=teacher, name="Physics").expressions is False
    assert Classroom(teacher=teacher, name="Biology").expressions is False


def test_it_creates_an_expression_free_class_from_the_teachers_page(client, teacher):
    client.force_login(teacher)
    page = client.get("/teach/").content.decode()
    assert "AI Act art. 5(1)(f)" in page
    client.post("/teach/", {"name": "History 2", "expression_free": ""})  # an old form's field changes nothing
    assert Classroom.objects.get(name="History 2").expressions is False


def test_it_explains_expressions_and_the_law_before_turning_them_on(client, teacher, classroom):
    client.force_login(teacher)
    settings_page = client.get(f"/teach/{classroom.join_code}/settings/").content.decode()
    assert f'href="/teach/{classroom.join_code}/settings/expressions/"' in settings_page
    page = client.get(f"/teach/{classroom.join_code}/settings/expressions/").content.decode()
    assert AI_ACT in page and "infer the\n     emotions" in page
    assert "experimental" in page and 'name="confirm"' in page
    assert "against each student's own resting face" in page  # how happy is decided


def test_it_turns_expressions_on_only_when_the_teacher_confirms(client, teacher, classroom):
    client.force_login(teacher)
    unconfirmed = client.post(f"/teach/{classroom.join_code}/settings/", {"enabled": "0"})
    assert unconfirmed.url == f"/teach/{classroom.join_code}/settings/expressions/"
    assert Classroom.objects.get(pk=classroom.pk).expressions is False
    client.post(f"/teach/{classroom.join_code}/settings/", {"enabled": "0", "confirm": "on"})
    assert Classroom.objects.get(pk=classroom.pk).expressions is True
    page = client.get(f"/teach/{classroom.join_code}/settings/").content.decode()
    assert "AI Act article 5(1)(f)" in page  # the reminder stays while expressions are read


def test_it_says_confused_is_experimental_with_no_labelled_validation_data(client, teacher, classroom):
    client.force_login(teacher)
    page = client.get(f"/teach/{classroom.join_code}/settings/").content.decode()
    note = page[page.index('id="confused-note"'):]
    assert "experimental" in note[:300] and "no labelled data to validate it" in note[:300]
