"""Input serializers validate what a client sends; output serializers shape what it gets back."""

from __future__ import annotations

from datetime import date, datetime

from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import TOTAL_FIELDS, Alert, Lesson, MetricSample, Session

STATE_MAX_LENGTH = MetricSample._meta.get_field("state").max_length


class SessionStartInputSerializer(serializers.Serializer):
    classroom = serializers.CharField(
        required=False, max_length=16, help_text="The class's join code; leave out for a session without a class."
    )


class SessionEndInputSerializer(serializers.Serializer):
    """Totals a client computed itself. Used only when the session has no recorded samples."""

    frames_analysed = serializers.IntegerField(required=False, min_value=0)
    blink_count = serializers.IntegerField(required=False, min_value=0)
    blink_rate_per_min = serializers.FloatField(required=False, min_value=0, allow_null=True)
    mean_ear = serializers.FloatField(required=False, min_value=0, max_value=1, allow_null=True)
    min_ear = serializers.FloatField(required=False, min_value=0, max_value=1, allow_null=True)
    mean_engagement = serializers.FloatField(required=False, min_value=0, max_value=100, allow_null=True)
    perclos = serializers.FloatField(required=False, min_value=0, max_value=1, allow_null=True)
    time_in_state = serializers.DictField(
        required=False, child=serializers.FloatField(min_value=0), help_text="Seconds spent in each state."
    )

    def validate_time_in_state(self, value: dict[str, float]) -> dict[str, float]:
        too_long = [state for state in value if len(state) > STATE_MAX_LENGTH]
        if too_long:
            raise serializers.ValidationError(f"State names are at most {STATE_MAX_LENGTH} characters.")
        return value


# A string in the schema: OpenAPI has no "date or date-time" format (check --deploy warned without this).
@extend_schema_field(OpenApiTypes.STR)
class DateOrDateTimeField(serializers.Field):
    """An ISO 8601 date (2026-03-01) or date and time (2026-03-01T09:30:00Z)."""

    default_error_messages = {"invalid": "Use an ISO 8601 date (YYYY-MM-DD) or date and time."}

    def to_internal_value(self, data: str) -> date | datetime:
        text = str(data).strip()
        try:
            # The date first: parse_datetime would also read "2026-03-01" as that day's midnight.
            parsed = parse_date(text) or parse_datetime(text)
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail("invalid")
        return parsed

    def to_representation(self, value: date | datetime) -> str:
        return value.isoformat()


class SessionHistoryQuerySerializer(serializers.Serializer):
    classroom = serializers.CharField(
        required=False,
        max_length=16,
        help_text="A join code: that class's sessions (all of them for its teacher, your own for a member).",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword, so these two cannot be class attributes.
        fields = super().get_fields()
        fields["from"] = DateOrDateTimeField(required=False, help_text="Started at or after this date or time.")
        fields["to"] = DateOrDateTimeField(
            required=False, help_text="Started at or before this time, or on or before this date."
        )
        return fields

    def validate(self, attrs: dict) -> dict:
        start, end = attrs.get("from"), attrs.get("to")
        if start is not None and end is not None and _as_date(start) > _as_date(end):
            raise serializers.ValidationError({"to": "Must not be before 'from'."})
        return attrs


def _as_date(moment: date | datetime) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


class MetricSampleSerializer(serializers.ModelSerializer):
    class Meta:
        model = MetricSample
        fields = ["time", "ear", "blinks", "blink_rate_per_min", "engagement", "state", "perclos", "confidence", "frames"]


class SpanInClassSerializer(serializers.ModelSerializer):
    """What sessions and lessons both have: a class (by join code and name) and a duration so far."""

    classroom = serializers.CharField(source="classroom.join_code", read_only=True, allow_null=True, default=None)
    classroom_name = serializers.CharField(source="classroom.name", read_only=True, allow_null=True, default=None)
    duration_seconds = serializers.SerializerMethodField()

    def get_duration_seconds(self, span: Session | Lesson) -> float:
        return round(span.duration.total_seconds(), 3)


class SessionSerializer(SpanInClassSerializer):
    student = serializers.CharField(source="student.get_username", read_only=True)
    lesson = serializers.IntegerField(source="lesson_id", read_only=True, allow_null=True)
    dominant_state = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Session
        fields = [
            "id",
            "student",
            "classroom",
            "classroom_name",
            "lesson",
            "status",
            "started_at",
            "ended_at",
            "duration_seconds",
            *TOTAL_FIELDS,
            "dominant_state",
        ]
        read_only_fields = fields


class SessionDetailSerializer(SessionSerializer):
    samples = MetricSampleSerializer(many=True, read_only=True)

    class Meta(SessionSerializer.Meta):
        fields = [*SessionSerializer.Meta.fields, "samples"]
        read_only_fields = fields


class LessonHistoryQuerySerializer(SessionHistoryQuerySerializer):
    open = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: only a lesson in progress; false: only ended ones."
    )


class LessonSerializer(SpanInClassSerializer):
    status = serializers.SerializerMethodField()
    opened_by_teacher = serializers.SerializerMethodField()

    class Meta:
        model = Lesson
        fields = [
            "id",
            "classroom",
            "classroom_name",
            "status",
            "started_at",
            "ended_at",
            "duration_seconds",
            "opened_by_teacher",
            "end_reason",
        ]
        read_only_fields = fields

    def get_status(self, lesson: Lesson) -> str:
        return "open" if lesson.is_open else "ended"

    def get_opened_by_teacher(self, lesson: Lesson) -> bool:
        """False when a student's stream opened it."""
        return lesson.opened_by_id is not None


class AlertSerializer(serializers.ModelSerializer):
    student = serializers.CharField(source="student.get_username", read_only=True)
    session = serializers.IntegerField(source="session_id", read_only=True, allow_null=True)

    class Meta:
        model = Alert
        fields = ["student", "session", "kind", "reason", "time"]
        read_only_fields = fields


class LessonDetailSerializer(LessonSerializer):
    """A lesson with the alerts the reader may see, in time order (its teacher: all; a student: their own)."""

    alerts = serializers.SerializerMethodField()

    class Meta(LessonSerializer.Meta):
        fields = [*LessonSerializer.Meta.fields, "alerts"]
        read_only_fields = fields

    def get_alerts(self, lesson: Lesson) -> list[dict]:
        return AlertSerializer(self.context["alerts"], many=True).data


class PersonalAlertSerializer(serializers.ModelSerializer):
    classroom = serializers.CharField(source="lesson.classroom.join_code", read_only=True, allow_null=True,
                                      default=None)
    session = serializers.IntegerField(source="session_id", read_only=True, allow_null=True)

    class Meta:
        model = Alert
        fields = ["time", "kind", "reason", "classroom", "lesson", "session"]
        read_only_fields = fields


class PersonalRecordsSerializer(serializers.Serializer):
    """Everything stored about one student (GDPR art. 15): their sessions with samples, and the alerts about them."""

    student = serializers.CharField()
    exported_at = serializers.DateTimeField()
    sessions = SessionDetailSerializer(many=True)
    alerts = PersonalAlertSerializer(many=True)


class ErasedRecordsSerializer(serializers.Serializer):
    sessions = serializers.IntegerField()
    samples = serializers.IntegerField()
    alerts = serializers.IntegerField()
