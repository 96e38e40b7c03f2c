"""With a PostgreSQL DATABASE_URL the project really runs on PostgreSQL, migrations included."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_it_talks_to_postgresql():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        (version,) = cursor.fetchone()
    assert version.startswith("PostgreSQL")


def test_it_round_trips_a_row_through_a_migrated_table():
    User.objects.create_user(username="ada", email="ada@example.org", password="correct horse battery staple")

    # Read back through SQL rather than the ORM's identity: the row must really be in the table.
    with connection.cursor() as cursor:
        cursor.execute("SELECT username, email FROM auth_user WHERE username = %s", ["ada"])
        assert cursor.fetchall() == [("ada", "ada@example.org")]
    assert User.objects.get(username="ada").check_password("correct horse battery staple")
