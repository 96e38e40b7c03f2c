"""The session rules, in one place for the API views, the student consumer and the commands.

Everything here is sync ORM code: from async code (consumers) call it through
channels.db.database_sync_to_async. Who may see or end a session is decided here too
(sessions_visible_to, session_for_user, session_check_can_end), so the views only translate.

Decisions worth knowing:
- A student has at most one active session (a partial unique constraint). Starting one for another
  class, or for no class, ends the active one first; starting for the same class returns it.
- A live stream starts a fresh session (session_start(fresh=True)) and never continues one another stream
  left active: that one ends at its last sample. Its counters (blinks, frames) start again with the stream.
- Samples that arrive for a session already ended (a stream that could not write during a database outage,
  while a newer stream or close_stale_sessions ended its session) are stored and its totals computed again,
  so totals always agree with the samples. A session that no longer exists takes none (0 recorded).
- Totals come from the recorded samples. Totals a client computed itself are taken only for a
  session with no samples at all (the seed app's clients recorded none); otherwise the live record wins.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, models, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from .models import TOTAL_FIELDS, MetricSample, Session

# One line when a session starts and one when it ends, after the commit; ids and numbers only.
logger = logging.getLogger("smartsession.sessions")

AnyUser = AbstractBaseUser | AnonymousUser

# Two tries at most are ever needed: the second sees the session the racing request made.
START_ATTEMPTS = 3
# The totals a client may send when it ended a session without streaming samples.
CLIENT_TOTAL_FIELDS = TOTAL_FIELDS


@dataclass(frozen=True)
class SampleIn:
    """One snapshot of the live tracker (vision.StudentTracker's status), as the recorder hands it over."""

    time: datetime
    ear: float | None
    blinks: int  # so far in this session
    blink_rate_per_min: float
    engagement: int  # 0-100
    state: str
    perclos: float
    confidence: str
    frames: int  # analysed so far in this session


def classroom_model() -> type[models.Model]:
    """classroom.Classroom, reached through our foreign key so that this app never imports classroom."""
    return Session._meta.get_field("classroom").related_model


def classroom_by_code(code: str) -> models.Model:
    """The class with this join code, in any case and with stray spaces; Classroom.DoesNotExist otherwise."""
    # Codes are stored upper-case (classroom.models.normalize_join_code).
    return classroom_model().objects.get(join_code=code.strip().upper())


def _is_member(*, student: AbstractBaseUser, classroom: models.Model) -> bool:
    return classroom.memberships.filter(student=student).exists()


def session_start(
    *,
    student: AbstractBaseUser,
    classroom: models.Model | None = None,
    started_at: datetime | None = None,
    fresh: bool = False,
) -> tuple[Session, bool]:
    """The student's active session for `classroom` (created False), or a new one (created True).

    `fresh` (what the live recorder asks for): always a new session; an active one for the same class is
    ended at its last sample, because it belongs to another stream whose counters started from zero.

    `started_at` (default now) is when a new session began; the live recorder passes the time of the
    stream's first frame, since it starts the session only when it first writes. An active session
    for another class (or for none, when `classroom` is given, and the other way round) is ended
    first, at `started_at`. PermissionDenied when the student is not a member of `classroom`.
    Race-safe: the partial unique constraint lets only one of two concurrent starts create a row;
    the loser looks again and finds the winner's session.
    """
    if classroom is not None and not _is_member(student=student, classroom=classroom):
        raise PermissionDenied("You are not a member of this class.")
    classroom_id = classroom.pk if classroom is not None else None
    conflict: IntegrityError | None = None
    for _ in range(START_ATTEMPTS):
        try:
            with transaction.atomic():
                active = (
                    # of=("self",): PostgreSQL cannot lock the nullable side of the join to classroom.
                    Session.objects.select_for_update(of=("self",))
                    .select_related("classroom")
                    .filter(student=student, status=Session.Status.ACTIVE)
                    .first()
                )
                if active is not None:
                    if active.classroom_id == classroom_id and not fresh:
                        return active, False
                    _finish(active, ended_at=_last_sample_time(active) if fresh else started_at or timezone.now())
                session = Session.objects.create(
                    student=student, classroom=classroom, started_at=started_at or timezone.now()
                )
                transaction.on_commit(lambda: _log_started(session))
                return session, True
        except IntegrityError as error:
            conflict = error
    raise conflict


def session_record_samples(*, session_id: int, samples: Sequence[SampleIn]) -> int:
    """Stores the samples and returns how many; 0 for an unknown session.

    The session row is locked meanwhile, so a batch and session_end never interleave. Samples for a session
    that has ended are stored too and its totals computed again, reaching as far as its latest sample.
    """
    if not samples:
        return 0
    with transaction.atomic():
        session = Session.objects.select_for_update(of=("self",)).filter(pk=session_id).first()
        if session is None:
            return 0
        created = MetricSample.objects.bulk_create(
            [MetricSample(session_id=session_id, **asdict(sample)) for sample in samples]
        )
        if session.status == Session.Status.ENDED:
            _finish(session, ended_at=max(session.ended_at, *(sample.time for sample in samples)))
    return len(created)


def _last_sample_time(session: Session) -> datetime:
    """When the session was last seen: its newest sample, or its start when it has none."""
    return session.samples.aggregate(last=Max("time"))["last"] or session.started_at


def session_end(
    *, session_id: int, ended_at: datetime | None = None, client_totals: dict[str, Any] | None = None
) -> Session:
    """Ends the session and computes its totals; idempotent (an ended session is returned unchanged).

    `ended_at` defaults to now and is never before started_at. `client_totals` (keys from
    CLIENT_TOTAL_FIELDS, validated by the caller) are used only when no sample was recorded.
    Session.DoesNotExist for an unknown id.
    """
    with transaction.atomic():
        session = (
            Session.objects.select_for_update(of=("self",)).select_related("classroom", "student").get(pk=session_id)
        )
        if session.status == Session.Status.ACTIVE:
            _finish(session, ended_at=ended_at or timezone.now(), client_totals=client_totals)
    return session


def sample_interval_cap() -> timedelta:
    """The longest time one sample stands for in time_in_state.

    Two sample periods (10 s at the default 5 s): a longer gap means the recorder was not running
    (socket dropped, server restarted), and what the student did then is unknown.
    """
    return timedelta(seconds=max(10, 2 * settings.SMARTSESSION_SAMPLE_SECONDS))


def _finish(session: Session, *, ended_at: datetime, client_totals: dict[str, Any] | None = None) -> None:
    """Fills in the totals and marks the session ended; the caller holds the row lock."""
    samples = list(session.samples.order_by("time", "id"))
    if samples and samples[0].time < session.started_at:
        # A record cannot begin after its first measurement (a start stamped late, a clock behind):
        # without this the duration would shrink and the blink rate swell.
        session.started_at = samples[0].time
    session.ended_at = max(ended_at, session.started_at)
    session.status = Session.Status.ENDED
    duration = session.ended_at - session.started_at
    if samples:
        totals = _totals_from_samples(samples, started_at=session.started_at, ended_at=session.ended_at)
        totals["blink_rate_per_min"] = _per_minute(totals["blink_count"], duration)
    else:
        # None is "not known", which the fields' defaults already say.
        totals = {
            key: value
            for key, value in (client_totals or {}).items()
            if key in CLIENT_TOTAL_FIELDS and value is not None
        }
        if totals.get("blink_count") is not None and totals.get("blink_rate_per_min") is None:
            totals["blink_rate_per_min"] = _per_minute(totals["blink_count"], duration)
    for field, value in totals.items():
        setattr(session, field, value)
    session.save()
    transaction.on_commit(lambda: _log_ended(session, samples=len(samples)))


def _log_started(session: Session) -> None:
    logger.info(
        "session %s started: student %s, class %s",
        session.pk, session.student_id, session.classroom_id,
        extra={"event": "session.started", "session_id": session.pk, "student_id": session.student_id,
               "classroom_id": session.classroom_id},
    )


def _log_ended(session: Session, *, samples: int) -> None:
    seconds = round((session.ended_at - session.started_at).total_seconds())
    logger.info(
        "session %s ended: student %s, class %s, %s s, %s samples",
        session.pk, session.student_id, session.classroom_id, seconds, samples,
        extra={"event": "session.ended", "session_id": session.pk, "student_id": session.student_id,
               "classroom_id": session.classroom_id, "duration_s": seconds, "samples": samples},
    )


def _per_minute(count: int, duration: timedelta) -> float | None:
    minutes = duration.total_seconds() / 60
    return round(count / minutes, 3) if minutes > 0 else None


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def _totals_from_samples(samples: list[MetricSample], *, started_at: datetime, ended_at: datetime) -> dict[str, Any]:
    """Totals from samples ordered by time. blinks and frames are cumulative, so the last sample holds them.

    Time in each state: a sample stands for the time until the next sample (the last one: until the
    end), and the first one for the lead-in from the start as well; no stretch counts for more than
    sample_interval_cap(), so a gap in the recording counts as no state.
    """
    last = samples[-1]
    ears = [sample.ear for sample in samples if sample.ear is not None]
    cap = sample_interval_cap()

    def seconds_between(since: datetime, until: datetime) -> float:
        return min(max(until - since, timedelta(0)), cap).total_seconds()

    time_in_state: dict[str, float] = {samples[0].state: seconds_between(started_at, samples[0].time)}
    for sample, following in zip(samples, [*samples[1:], None]):
        until = following.time if following is not None else ended_at
        time_in_state[sample.state] = time_in_state.get(sample.state, 0.0) + seconds_between(sample.time, until)
    return {
        "frames_analysed": last.frames,
        "blink_count": last.blinks,
        "mean_ear": _mean(ears),
        "min_ear": min(ears) if ears else None,
        "mean_engagement": _mean([float(sample.engagement) for sample in samples]),
        "perclos": _mean([sample.perclos for sample in samples]),
        "time_in_state": {state: round(seconds, 3) for state, seconds in time_in_state.items()},
    }


def close_stale_sessions(*, idle_for: timedelta = timedelta(minutes=2)) -> int:
    """Ends the active sessions with no sample for `idle_for` (left open by a crash); returns how many.

    Each ends at its newest sample's time (or its start when it has none), so the hours it sat open
    count neither in its duration nor in its blink rate.
    """
    cutoff = timezone.now() - idle_for
    stale = (
        Session.objects.filter(status=Session.Status.ACTIVE)
        .annotate(last_sample_at=Max("samples__time"))
        .filter(Q(last_sample_at__lt=cutoff) | Q(last_sample_at__isnull=True, started_at__lt=cutoff))
        .values_list("pk", flat=True)
    )
    ended = 0
    for session_id in list(stale):
        with transaction.atomic():
            session = Session.objects.select_for_update().filter(pk=session_id, status=Session.Status.ACTIVE).first()
            if session is None:
                continue
            # Looked at again under the lock: a batch may have arrived since the query above.
            last_seen = _last_sample_time(session)
            if last_seen >= cutoff:
                continue
            _finish(session, ended_at=last_seen)
            ended += 1
    return ended


def purge_sessions(*, older_than_days: int) -> int:
    """Deletes the sessions that ended more than `older_than_days` ago, with their samples; returns how many.

    Active sessions are never deleted here; close_stale_sessions ends abandoned ones first.
    """
    if older_than_days < 0:
        raise ValueError(f"older_than_days must be 0 or more, not {older_than_days}")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    _, deleted = Session.objects.filter(status=Session.Status.ENDED, ended_at__lt=cutoff).delete()
    return deleted.get(Session._meta.label, 0)


def _sees_everything(user: AnyUser) -> bool:
    return bool(user.is_staff or user.is_superuser)


def sessions_visible_to(user: AnyUser, *, classroom_code: str | None = None) -> QuerySet[Session]:
    """The sessions `user` may read, newest first.

    - Anonymous: none. Staff and superusers: all.
    - Anyone else: their own sessions, and every session of the classes they teach.
    - With `classroom_code`: only that class's sessions. Its teacher (and staff) get all of them, a
      member gets their own; anyone else gets PermissionDenied, and an unknown code Classroom.DoesNotExist.
    """
    if not user.is_authenticated:
        return Session.objects.none()
    sessions = Session.objects.select_related("student", "classroom")
    if classroom_code is not None:
        classroom = classroom_by_code(classroom_code)
        sessions = sessions.filter(classroom=classroom)
        if _sees_everything(user) or classroom.teacher_id == user.pk:
            return sessions
        if _is_member(student=user, classroom=classroom):
            return sessions.filter(student=user)
        raise PermissionDenied("You neither teach this class nor are a member of it.")
    if _sees_everything(user):
        return sessions
    return sessions.filter(Q(student=user) | Q(classroom__teacher=user))


def sessions_started_between(
    sessions: QuerySet[Session], *, start: date | datetime | None = None, end: date | datetime | None = None
) -> QuerySet[Session]:
    """Narrows to sessions started in [start, end]. A date `end` takes in that whole day.

    Dates and naive datetimes are read in the current time zone (TIME_ZONE, UTC).
    """
    if start is not None:
        sessions = sessions.filter(started_at__gte=_as_aware_datetime(start))
    if end is not None:
        if isinstance(end, datetime):
            sessions = sessions.filter(started_at__lte=_as_aware_datetime(end))
        else:
            sessions = sessions.filter(started_at__lt=_as_aware_datetime(end + timedelta(days=1)))
    return sessions


def _as_aware_datetime(moment: date | datetime) -> datetime:
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time.min)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def session_for_user(*, user: AnyUser, session_id: int) -> Session:
    """The session if `user` may read it (sessions_visible_to); Session.DoesNotExist otherwise, whether it exists or not."""
    return sessions_visible_to(user).get(pk=session_id)


def session_check_can_end(*, user: AnyUser, session: Session) -> None:
    """Only the session's own student may end it: PermissionDenied for anyone else, staff and teachers too."""
    if session.student_id != user.pk:
        raise PermissionDenied("Only the student whose session this is can end it.")


def class_engagement_timeline(*, classroom_id: int, since: datetime, bucket_s: int) -> list[dict[str, Any]]:
    """The class's mean engagement per `bucket_s` seconds since `since`, from the stored samples, oldest first.

    Each point: {"t": bucket start in Unix seconds, "engagement": mean 0-100, "students": sessions sampled}.
    The live dashboard starts its timeline from this, so a reload does not lose the last minutes.
    """
    buckets: dict[int, tuple[list[int], set[int]]] = {}
    samples = (
        MetricSample.objects.filter(session__classroom_id=classroom_id, time__gte=since)
        .order_by("time")
        .values_list("time", "engagement", "session_id")
    )
    for moment, engagement, session_id in samples.iterator():
        key = int(moment.timestamp()) // bucket_s * bucket_s
        values, sessions = buckets.setdefault(key, ([], set()))
        values.append(engagement)
        sessions.add(session_id)
    return [
        {"t": key, "engagement": round(sum(values) / len(values), 1), "students": len(sessions)}
        for key, (values, sessions) in sorted(buckets.items())
    ]
