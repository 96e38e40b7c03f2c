"""Who is a teacher.

Teachers are the users in the Django auth Group named "teachers": an administrator grants or
removes the role in the admin (Users -> Groups), and `manage.py seed_demo` creates the group.
Students need no role: any logged-in user may join a class with its code.
"""

from __future__ import annotations

TEACHERS_GROUP = "teachers"


def is_teacher(user) -> bool:
    """Sync (one query): call it through database_sync_to_async from async code."""
    # Superusers are not teachers by default; they may still watch any class (services.teacher_access).
    return bool(user.is_authenticated and user.groups.filter(name=TEACHERS_GROUP).exists())
