"""Every session in a class belongs to a lesson: sessions recorded before lessons existed get them here.

A class's sessions are grouped by time: a session that starts within the idle time (10 minutes) of the
group's latest end joins it; a later one starts the next lesson. A group with a session still active stays
open; the others are closed at their last session's end, as an idle lesson closes itself.
"""

from datetime import timedelta

from django.db import migrations

IDLE = timedelta(minutes=10)


def group_sessions_into_lessons(apps, schema_editor):
    Session = apps.get_model("sessions_app", "Session")
    Lesson = apps.get_model("sessions_app", "Lesson")
    sessions = Session.objects.filter(classroom__isnull=False, lesson__isnull=True).order_by(
        "classroom_id", "started_at", "id"
    )
    groups = []  # [classroom_id, started_at, latest end, active, [session ids]]
    for session in sessions.iterator():
        end = session.ended_at or session.started_at
        group = groups[-1] if groups else None
        if group is None or group[0] != session.classroom_id or session.started_at > group[2] + IDLE:
            group = [session.classroom_id, session.started_at, end, False, []]
            groups.append(group)
        group[2] = max(group[2], end)
        group[3] = group[3] or session.status == "active"
        group[4].append(session.pk)
    newest = {group[0]: index for index, group in enumerate(groups)}
    for index, (classroom_id, started_at, latest_end, active, session_ids) in enumerate(groups):
        # One open lesson per class: the newest, if it has a session still active. An older group's active
        # session was left by a crash; close_stale_sessions ends it.
        still_open = active and newest[classroom_id] == index
        lesson = Lesson.objects.create(
            classroom_id=classroom_id,
            started_at=started_at,
            ended_at=None if still_open else latest_end,
            end_reason="" if still_open else "idle",
        )
        Session.objects.filter(pk__in=session_ids).update(lesson=lesson)


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0002_lessons_alerts_and_paused_samples")]

    operations = [migrations.RunPython(group_sessions_into_lessons, migrations.RunPython.noop)]
