"""Names people type reach every page as text, never as markup: a display name that is an attack shows as itself.

Server-rendered pages escape it (Django's autoescape); the data the scripts read is in json_script blocks,
which escape <, > and &; and the scripts write names with textContent (the browser tests see them as text).
"""

from __future__ import annotations

import pytest
from session_clock import at

pytestmark = pytest.mark.django_db

ATTACK = '<img src=x onerror="alert(1)">'


@pytest.fixture
def hostile_student(make_user, classroom, make_sample):
    from classroom.services import classroom_join, membership_consent
    from sessions_app.services import session_end, session_record_samples, session_start

    student = make_user("hostile", first_name=ATTACK)
    membership_consent(membership=classroom_join(student=student, code=classroom.join_code))
    session, _ = session_start(student=student, classroom=classroom, started_at=at(0))
    session_record_samples(session_id=session.pk, samples=[make_sample(at(5))])
    session_end(session_id=session.pk, ended_at=at(6))
    return student


def test_it_never_puts_a_typed_name_into_a_page_as_markup(client, teacher, classroom, hostile_student):
    from sessions_app.models import Session

    session = Session.objects.get(student=hostile_student)
    client.force_login(teacher)
    code = classroom.join_code
    pages = [f"/teach/{code}/", f"/teach/{code}/history/", f"/teach/{code}/settings/", f"/teach/{code}/students/",
             f"/history/{session.pk}/", f"/lessons/{session.lesson_id}/"]
    for path in pages:
        response = client.get(path)
        page = response.content.decode()
        assert response.status_code == 200, path
        assert "<img src=x" not in page, path
        # The name is there, escaped: as HTML text, or inside a json_script block.
        assert "&lt;img src=x" in page or "\\u003Cimg src=x" in page, path
