"""The session API: input serializer, service, output serializer. Every rule is in services.py.

Status codes:
- 401: not logged in (no session cookie, no valid token).
- 404: a session you may not read, whether it exists or not; an unknown class code.
- 403: a session you may read but not end (a teacher's class, staff); a class you neither teach
  nor belong to; starting a session in a class you are not a member of.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import personal_records, services, visibility
from .models import Lesson, Session
from .serializers import (
    ErasedRecordsSerializer,
    LessonDetailSerializer,
    LessonHistoryQuerySerializer,
    LessonSerializer,
    MetricSampleSerializer,
    PersonalRecordsSerializer,
    SessionDetailSerializer,
    SessionEndInputSerializer,
    SessionHistoryQuerySerializer,
    SessionSerializer,
    SessionStartInputSerializer,
)
from .spreadsheet import csv_writer

UNKNOWN_CLASS = "There is no class with this code."
# Token first: DRF answers an anonymous request with 401 only when the first authenticator names a
# WWW-Authenticate scheme, and SessionAuthentication names none (it would be 403). Cookie requests
# are still authenticated, with CSRF checked on unsafe methods.
AUTHENTICATION = [TokenAuthentication, SessionAuthentication]


class SessionAPIView(APIView):
    authentication_classes = AUTHENTICATION


class SessionPagination(PageNumberPagination):
    page_size = 20


def _session_or_404(request: Request, session_id: int) -> Session:
    try:
        return visibility.session_for_user(user=request.user, session_id=session_id)
    except Session.DoesNotExist:
        raise NotFound("No such session.") from None


class SessionStartView(SessionAPIView):
    @extend_schema(
        request=SessionStartInputSerializer,
        responses={
            201: OpenApiResponse(SessionSerializer, description="A new session was started."),
            200: OpenApiResponse(SessionSerializer, description="The session already active for this class."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = SessionStartInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        classroom = None
        if "classroom" in serializer.validated_data:
            try:
                classroom = services.classroom_by_code(serializer.validated_data["classroom"])
            except ObjectDoesNotExist:
                raise NotFound(UNKNOWN_CLASS) from None
        session, created = services.session_start(student=request.user, classroom=classroom, require_consent=True)
        return Response(
            SessionSerializer(session).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class SessionEndView(SessionAPIView):
    @extend_schema(request=SessionEndInputSerializer, responses=SessionSerializer)
    def post(self, request: Request, session_id: int) -> Response:
        session = _session_or_404(request, session_id)
        visibility.session_check_can_end(user=request.user, session=session)
        serializer = SessionEndInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.session_end(session_id=session.pk, client_totals=serializer.validated_data or None)
        return Response(SessionSerializer(session).data)


class HistoryListView(generics.ListAPIView):
    """A page of records you may read, newest first, narrowed by class and start dates (the query serializer)."""

    authentication_classes = AUTHENTICATION
    pagination_class = SessionPagination
    query_serializer: type[serializers.Serializer]

    def visible(self, query: dict) -> QuerySet:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet:
        query = self.query_serializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        try:
            records = self.visible(query.validated_data)
        except ObjectDoesNotExist:
            raise NotFound(UNKNOWN_CLASS) from None
        return visibility.started_between(
            records, start=query.validated_data.get("from"), end=query.validated_data.get("to")
        )


@extend_schema(parameters=[SessionHistoryQuerySerializer])
class SessionHistoryView(HistoryListView):
    """Sessions you may read, newest first, 20 a page."""

    serializer_class = SessionSerializer
    query_serializer = SessionHistoryQuerySerializer

    def visible(self, query: dict) -> QuerySet[Session]:
        return visibility.sessions_visible_to(self.request.user, classroom_code=query.get("classroom"))

    @extend_schema(parameters=[], responses={200: ErasedRecordsSerializer})
    def delete(self, request: Request) -> Response:
        """Erases YOUR OWN sessions, samples and alerts (GDPR art. 17), whatever else you may read; the account
        and its memberships stay. Answers how many of each went."""
        return Response(ErasedRecordsSerializer(personal_records.personal_records_erase(student=request.user)).data)


class PersonalRecordsView(SessionAPIView):
    """Everything stored about you (GDPR art. 15): your sessions with their samples, and the alerts about you."""

    @extend_schema(responses={200: PersonalRecordsSerializer})
    def get(self, request: Request) -> Response:
        records = {
            "student": request.user.get_username(),
            "exported_at": timezone.now(),
            "sessions": personal_records.personal_sessions(student=request.user),
            "alerts": personal_records.personal_alerts(student=request.user),
        }
        response = Response(PersonalRecordsSerializer(records).data)
        response["Content-Disposition"] = 'attachment; filename="my-smartsession-records.json"'
        return response


# One row per sample, with its session's fields in every row; a session without samples is one row of its own.
PERSONAL_CSV_SESSION_COLUMNS = ("session", "classroom", "classroom_name", "lesson", "analysis", "session_started_at",
                                "session_ended_at")


class PersonalRecordsCsvView(SessionAPIView):
    """Your sessions and their samples as one CSV (the alerts are in the JSON download)."""

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="my-smartsession-samples.csv"'
        sample_columns = MetricSampleSerializer.Meta.fields
        writer = csv_writer(response)
        writer.writerow([*PERSONAL_CSV_SESSION_COLUMNS, *sample_columns])
        for session in personal_records.personal_sessions(student=request.user):
            head = [session.pk, session.classroom.join_code if session.classroom else "",
                    session.classroom.name if session.classroom else "", session.lesson_id or "", session.analysis,
                    session.started_at, session.ended_at]
            samples = list(session.samples.all())
            for sample in samples or [None]:
                row = [getattr(sample, column) if sample else None for column in sample_columns]
                writer.writerow([_csv_value(value) for value in (*head, *row)])
        return response


class SessionDetailView(generics.RetrieveAPIView):
    """A session you may read, with its samples in time order."""

    authentication_classes = AUTHENTICATION
    serializer_class = SessionDetailSerializer
    lookup_url_kwarg = "session_id"

    def get_queryset(self) -> QuerySet[Session]:
        return visibility.sessions_visible_to(self.request.user).prefetch_related("samples")


class SessionSamplesCsvView(SessionAPIView):
    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request, session_id: int) -> HttpResponse:
        session = _session_or_404(request, session_id)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="session-{session.pk}-samples.csv"'
        columns = MetricSampleSerializer.Meta.fields
        writer = csv_writer(response)
        writer.writerow(columns)
        for row in session.samples.order_by("time", "id").values_list(*columns).iterator():
            writer.writerow([_csv_value(value) for value in row])
        return response


def _csv_value(value: object) -> object:
    # The same ISO 8601 times as the JSON API, and an empty cell for "no face seen" rather than "None".
    if value is None:
        return ""
    if isinstance(value, datetime):
        return serializers.DateTimeField().to_representation(value)
    return value


@extend_schema(parameters=[LessonHistoryQuerySerializer])
class LessonHistoryView(HistoryListView):
    """Lessons you may read, newest first, 20 a page: a teacher's classes' lessons, a student's own."""

    serializer_class = LessonSerializer
    query_serializer = LessonHistoryQuerySerializer

    def visible(self, query: dict) -> QuerySet[Lesson]:
        lessons = visibility.lessons_visible_to(self.request.user, classroom_code=query.get("classroom"))
        return lessons if query.get("open") is None else lessons.filter(ended_at__isnull=query["open"])


def _lesson_or_404(request: Request, lesson_id: int) -> Lesson:
    try:
        return visibility.lesson_for_user(user=request.user, lesson_id=lesson_id)
    except Lesson.DoesNotExist:
        raise NotFound("No such lesson.") from None


class LessonDetailView(SessionAPIView):
    @extend_schema(responses=LessonDetailSerializer)
    def get(self, request: Request, lesson_id: int) -> Response:
        """A lesson you may read, with its alerts in time order (yours only, unless you teach the class)."""
        lesson = _lesson_or_404(request, lesson_id)
        alerts = visibility.lesson_alerts_for_user(user=request.user, lesson=lesson)
        return Response(LessonDetailSerializer(lesson, context={"alerts": alerts}).data)


class LessonSessionsView(generics.ListAPIView):
    """The sessions of a lesson you may read, newest first: all of them for its teacher, else your own."""

    authentication_classes = AUTHENTICATION
    serializer_class = SessionSerializer
    pagination_class = SessionPagination

    def get_queryset(self) -> QuerySet[Session]:
        lesson = _lesson_or_404(self.request, self.kwargs["lesson_id"])
        return visibility.lesson_sessions_for_user(user=self.request.user, lesson=lesson)

