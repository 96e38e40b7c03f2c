"""A class's lessons, a student's monitoring sessions in them, the metrics sampled and the alerts raised.

Only numbers and short words are stored: frames, landmarks and images never reach the database (there
are no fields for them). A session's totals are computed once, when it ends (sessions_app/services.py).
The class is referred to as "classroom.Classroom" and never imported: classroom depends on
sessions_app, not the other way round (docs/architecture.md).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


# The state a sample records while the student has paused their camera: nothing is measured then, so the
# time counts as paused, never as the state before the pause.
PAUSED = "paused"

# A session's totals, computed when it ends; the API, the admin and client-sent totals all list these.
TOTAL_FIELDS = (
    "frames_analysed",
    "blink_count",
    "blink_rate_per_min",
    "mean_ear",
    "min_ear",
    "mean_engagement",
    "perclos",
    "time_in_state",
)


class Lesson(models.Model):
    """A span of a class's live time; every session streamed in the class belongs to one.

    The teacher starts and ends it on the dashboard, a stream that starts with none open opens one, and one
    with no stream for SMARTSESSION_LESSON_IDLE_MINUTES closes itself (services.lessons_close_idle).
    """

    class EndReason(models.TextChoices):
        TEACHER = "teacher", "Ended by the teacher"
        IDLE = "idle", "Closed itself: nobody streamed for a while"

    # SET_NULL like Session.classroom: deleting a class keeps the record of what happened in it.
    classroom = models.ForeignKey(
        "classroom.Classroom", on_delete=models.SET_NULL, null=True, blank=True, related_name="lessons"
    )
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The teacher who started it; empty when a student's stream opened it.",
    )
    end_reason = models.CharField(max_length=8, choices=EndReason.choices, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["classroom", "-started_at"], name="lesson_class_started")]
        constraints = [
            # Two streams starting at once in a class with no lesson open cannot both open one
            # (services.session_start retries and finds the winner's).
            models.UniqueConstraint(
                fields=["classroom"],
                condition=models.Q(ended_at__isnull=True),
                name="lesson_one_open_per_class",
                violation_error_message="This class already has a lesson in progress.",
            ),
        ]

    def __str__(self) -> str:
        return f"Lesson of {self.classroom} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    @property
    def duration(self) -> timedelta:
        """Until ended_at, or until now for a lesson in progress."""
        return (self.ended_at or timezone.now()) - self.started_at


class Session(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="engagement_sessions"
    )
    # SET_NULL: deleting a class keeps its students' records; they show as "no class".
    classroom = models.ForeignKey(
        "classroom.Classroom", on_delete=models.SET_NULL, null=True, blank=True, related_name="sessions"
    )
    # Empty only for a session started without a class (the API allows it); SET_NULL so that purging old
    # lessons never takes a session with it by surprise.
    lesson = models.ForeignKey(Lesson, on_delete=models.SET_NULL, null=True, blank=True, related_name="sessions")
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)

    class Analysis(models.TextChoices):
        SERVER = "server", "Frames, analysed on the server"
        DEVICE = "device", "On the student's device"
        MIXED = "mixed", "Both (the device fell back to frames)"

    analysis = models.CharField(
        max_length=8, choices=Analysis.choices, default=Analysis.SERVER,
        help_text="Where the face was analysed: camera frames on the server, or the student's own device.",
    )
    # A stream that outlives its lesson goes on in a new session (session_record_stream). Its samples count blinks
    # and frames from the stream's start; this session stores them counted from these, the counts at its start.
    stream_blinks_before = models.PositiveIntegerField(default=0, editable=False)
    stream_frames_before = models.PositiveIntegerField(default=0, editable=False)

    # Totals, filled in when the session ends.
    frames_analysed = models.PositiveIntegerField(default=0)
    blink_count = models.PositiveIntegerField(default=0)
    blink_rate_per_min = models.FloatField(null=True, blank=True)
    mean_ear = models.FloatField(null=True, blank=True, help_text="Mean eye aspect ratio over the samples with a face.")
    min_ear = models.FloatField(null=True, blank=True)
    mean_engagement = models.FloatField(null=True, blank=True, help_text="0-100")
    perclos = models.FloatField(null=True, blank=True, help_text="Mean share of time with the eyes closed, 0-1.")
    time_in_state = models.JSONField(
        default=dict, blank=True, help_text='Seconds spent in each state, "paused" included.'
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            # A student's history, a class's history, and close_stale_sessions / purge_sessions.
            models.Index(fields=["student", "-started_at"], name="session_student_started"),
            models.Index(fields=["classroom", "-started_at"], name="session_class_started"),
            models.Index(fields=["status", "started_at"], name="session_status_started"),
        ]
        constraints = [
            # A partial unique index on both SQLite and PostgreSQL: two tabs or two servers starting a
            # session for the same student at once cannot both succeed (services.session_start retries).
            models.UniqueConstraint(
                fields=["student"],
                condition=models.Q(status="active"),
                name="session_one_active_per_student",
                violation_error_message="This student already has an active session.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} at {self.started_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def duration(self) -> timedelta:
        """Until ended_at, or until now for a session still active."""
        return (self.ended_at or timezone.now()) - self.started_at

    @property
    def dominant_state(self) -> str | None:
        """The state with the most seconds, or None before any were recorded."""
        if not self.time_in_state:
            return None
        return max(self.time_in_state, key=self.time_in_state.__getitem__)


class MetricSample(models.Model):
    """One snapshot of the live tracker's status, every SMARTSESSION_SAMPLE_SECONDS of a session.

    While the student has paused, a sample says so (state "paused") and measures nothing: its engagement,
    EAR, blink rate, PERCLOS and confidence are empty.
    """

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="samples")
    time = models.DateTimeField()
    ear = models.FloatField(null=True, blank=True, help_text="Eye aspect ratio; empty when no face was seen.")
    blinks = models.PositiveIntegerField(help_text="Blinks so far in this session.")
    blink_rate_per_min = models.FloatField(null=True, blank=True, help_text="Empty while paused.")
    engagement = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0-100; empty while paused.")
    state = models.CharField(max_length=16)
    perclos = models.FloatField(null=True, blank=True, help_text="Empty while paused.")
    confidence = models.CharField(max_length=16, blank=True, help_text="ok or uncertain; empty while paused.")
    frames = models.PositiveIntegerField(help_text="Frames analysed so far in this session.")

    class Meta:
        ordering = ["time", "id"]
        indexes = [models.Index(fields=["session", "time"], name="sample_session_time")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(engagement__lte=100), name="sample_engagement_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} at {self.time:%H:%M:%S}: {self.state} {self.engagement}"


class Alert(models.Model):
    """What the live dashboard told the teacher about a student, kept so a reload and the history show it."""

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="alerts")
    # The session streaming when it was raised; empty if the camera went silent before the first frame.
    session = models.ForeignKey(Session, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts")
    kind = models.CharField(max_length=24, help_text="distracted, drowsy, absent, face_lost or camera_stopped")
    reason = models.CharField(max_length=200)
    time = models.DateTimeField()

    class Meta:
        ordering = ["time", "id"]
        indexes = [models.Index(fields=["lesson", "time"], name="alert_lesson_time")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.student} at {self.time:%H:%M:%S}"
