"""A student's own records (GDPR articles 15 and 17): everything stored about them, to download or to erase.

Their account and memberships are not records of monitoring; they stay the school's to manage.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.db.models import QuerySet

from .models import Alert, MetricSample, Session

# The erasure is logged where sessions are: who asked and how much went, never what it held.
logger = logging.getLogger("smartsession.sessions")


def personal_sessions(*, student: AbstractBaseUser) -> QuerySet[Session]:
    """Every session of `student`, oldest first, with its class and lesson; samples are prefetched."""
    return (
        Session.objects.filter(student=student)
        .select_related("classroom", "student")
        .prefetch_related(models.Prefetch("samples", queryset=MetricSample.objects.order_by("time", "id")))
        .order_by("started_at", "id")
    )


def personal_alerts(*, student: AbstractBaseUser) -> QuerySet[Alert]:
    """Every alert a teacher was sent about `student`, oldest first."""
    return Alert.objects.filter(student=student).select_related("lesson__classroom").order_by("time", "id")


@transaction.atomic
def personal_records_erase(*, student: AbstractBaseUser) -> dict[str, int]:
    """Deletes every session, sample and alert of `student` and returns how many of each went.

    A stream in progress carries on with its feedback but records nothing more; the student's next connection
    starts a new session (classroom.recording). The log line says who asked and how much went, never what it held.
    """
    counts = {
        "sessions": Session.objects.filter(student=student).count(),
        "samples": MetricSample.objects.filter(session__student=student).count(),
        "alerts": Alert.objects.filter(student=student).count(),
    }
    Alert.objects.filter(student=student).delete()
    Session.objects.filter(student=student).delete()  # and their samples, by cascade
    logger.info(
        "records of student %s erased at their request: %d sessions, %d samples, %d alerts",
        student.pk, counts["sessions"], counts["samples"], counts["alerts"],
        extra={"event": "records.erased", "student_id": student.pk, **counts},
    )
    return counts
