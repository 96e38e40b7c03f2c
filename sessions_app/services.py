"""The session rules, in one place for the API views, the student consumer and the commands.

Everything here is sync ORM code: from async code (consumers) call it through
channels.db.database_sync_to_async. Who may read what is sessions_app.visibility's to decide, and a student's
own records (download, erasure) are sessions_app.personal_records', so the views only translate.

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
- Paused time is recorded as samples in the state "paused", which measure nothing. It counts as paused in
  time_in_state, and never in the means or the blink rate (blinks per minute of unpaused time).
- Every session in a class belongs to a lesson. A stream that starts with no lesson open opens one; a
  lesson with no stream for SMARTSESSION_LESSON_IDLE_MINUTES closes itself at its last stream's end;
  ending a lesson ends its sessions. A student still streaming then starts the next lesson.
- Alerts are stored with their student, time and lesson, so a reload and the history pages show them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, models, transaction
from django.db.models import Max, Q
from django.utils import timezone

from .models import PAUSED, TOTAL_FIELDS, Alert, Lesson, MetricSample, Session

# One line when a session starts and one when it ends, after the commit; ids and numbers only.
logger = logging.getLogger("smartsession.sessions")

AnyUser = AbstractBaseUser | AnonymousUser

# Two tries at most are ever needed: the second sees the session the racing request made.
START_ATTEMPTS = 3
# The totals a client may send when it ended a session without streaming samples.
CLIENT_TOTAL_FIELDS = TOTAL_FIELDS


@dataclass(frozen=True)
class SampleIn:
    """One snapshot of the live tracker (vision.StudentTracker's status), as the recorder hands it over.

    A paused stretch is recorded with paused_sample(): the measurements are None then.
    """

    time: datetime
    ear: float | None
    blinks: int  # so far in this session
    blink_rate_per_min: float | None
    engagement: int | None  # 0-100
    state: str
    perclos: float | None
    confidence: str
    frames: int  # analysed so far in this session


def paused_sample(*, at: datetime, blinks: int, frames: int) -> SampleIn:
    """A sample of a paused stretch: the student is there but chose not to be measured, so nothing is."""
    return SampleIn(
        time=at, ear=None, blinks=blinks, blink_rate_per_min=None, engagement=None, state=PAUSED,
        perclos=None, confidence="", frames=frames,
    )


def classroom_model() -> type[models.Model]:
    """classroom.Classroom, reached through our foreign key so that this app never imports classroom."""
    return Session._meta.get_field("classroom").related_model


def classroom_by_code(code: str) -> models.Model:
    """The class with this join code, in any case and with stray spaces; Classroom.DoesNotExist otherwise."""
    # Codes are stored upper-case (classroom.models.normalize_join_code).
    return classroom_model().objects.get(join_code=code.strip().upper())


def is_member(*, student: AbstractBaseUser, classroom: models.Model) -> bool:
    return classroom.memberships.filter(student=student).exists()


def has_consented(*, student: AbstractBaseUser, classroom: models.Model) -> bool:
    return classroom.memberships.filter(student=student, consented_at__isnull=False).exists()


def analysis_mode(*, frames: bool, measurements: bool) -> str:
    """Session.Analysis of a stream that has sent pictures (frames), its device's measurements, or both."""
    if measurements:
        return Session.Analysis.MIXED if frames else Session.Analysis.DEVICE
    return Session.Analysis.SERVER


def session_start(
    *,
    student: AbstractBaseUser,
    classroom: models.Model | None = None,
    started_at: datetime | None = None,
    fresh: bool = False,
    analysis: str = Session.Analysis.SERVER,
    require_consent: bool = False,
) -> tuple[Session, bool]:
    """The student's active session for `classroom` (created False), or a new one (created True).

    `fresh` (what the live recorder asks for): always a new session; an active one for the same class is
    ended at its last sample, because it belongs to another stream whose counters started from zero.
    `analysis` says where a new session's face was analysed (Session.Analysis).

    `started_at` (default now) is when a new session began; the live recorder passes the time of the
    stream's first frame, since it starts the session only when it first writes. An active session
    for another class (or for none, when `classroom` is given, and the other way round) is ended
    first, at `started_at`. PermissionDenied when the student is not a member of `classroom`.
    Race-safe: the partial unique constraint lets only one of two concurrent starts create a row;
    the loser looks again and finds the winner's session. A new session in a class joins the class's
    lesson in progress, or opens one (lesson_for_stream).
    """
    if classroom is not None and not is_member(student=student, classroom=classroom):
        raise PermissionDenied("You are not a member of this class.")
    if require_consent and classroom is not None and not has_consented(student=student, classroom=classroom):
        # A class's records come from streams the student agreed to (the live socket asks the same).
        raise PermissionDenied("Give your consent on the class page first.")
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
                started_at = started_at or timezone.now()
                lesson = lesson_for_stream(classroom=classroom, at=started_at) if classroom is not None else None
                session = Session.objects.create(
                    student=student, classroom=classroom, lesson=lesson, started_at=started_at, analysis=analysis
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
            [MetricSample(session_id=session_id, **asdict(_counted_in(session, sample))) for sample in samples]
        )
        if session.status == Session.Status.ENDED:
            _finish(session, ended_at=max(session.ended_at, *(sample.time for sample in samples)))
    return len(created)


def _counted_in(session: Session, sample: SampleIn) -> SampleIn:
    """The sample with its stream-long counters counted from the session's start (stream_*_before)."""
    if not (session.stream_blinks_before or session.stream_frames_before):
        return sample
    return replace(sample, blinks=max(0, sample.blinks - session.stream_blinks_before),
                   frames=max(0, sample.frames - session.stream_frames_before))


def _last_sample_time(session: Session) -> datetime:
    """When the session was last seen: its newest sample, or its start when it has none."""
    return session.samples.aggregate(last=Max("time"))["last"] or session.started_at


def session_end(
    *,
    session_id: int,
    ended_at: datetime | None = None,
    client_totals: dict[str, Any] | None = None,
    analysis: str | None = None,
) -> Session:
    """Ends the session and computes its totals; idempotent (an ended session is returned unchanged).

    `ended_at` defaults to now and is never before started_at. `client_totals` (keys from
    CLIENT_TOTAL_FIELDS, validated by the caller) are used only when no sample was recorded, and only for a
    session in no class: what a teacher's report shows of a class is what the server measured, never figures a
    student's client typed in.
    `analysis`, when given, corrects where the face was analysed (a device that fell back to frames: mixed).
    Session.DoesNotExist for an unknown id.
    """
    with transaction.atomic():
        session = (
            Session.objects.select_for_update(of=("self",)).select_related("classroom", "student").get(pk=session_id)
        )
        if analysis is not None and session.analysis != analysis:
            session.analysis = analysis
            session.save(update_fields=["analysis"])
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
        totals["blink_rate_per_min"] = _unpaused_blink_rate(totals, duration)
    else:
        # None is "not known", which the fields' defaults already say.
        trusted = client_totals if session.classroom_id is None else None
        totals = {
            key: value
            for key, value in (trusted or {}).items()
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


def _unpaused_blink_rate(totals: dict[str, Any], duration: timedelta) -> float | None:
    """Blinks per minute of the time the student was not paused: pausing neither lowers nor raises it."""
    paused = timedelta(seconds=totals["time_in_state"].get(PAUSED, 0.0))
    return _per_minute(totals["blink_count"], duration - paused)


def _per_minute(count: int, duration: timedelta) -> float | None:
    minutes = duration.total_seconds() / 60
    return round(count / minutes, 3) if minutes > 0 else None


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def _totals_from_samples(samples: list[MetricSample], *, started_at: datetime, ended_at: datetime) -> dict[str, Any]:
    """Totals from samples ordered by time. blinks and frames are cumulative, so the last sample holds them.

    Paused samples measure nothing: they count in time_in_state (as "paused") and nowhere else.

    Time in each state: a sample stands for the time until the next sample (the last one: until the
    end), and the first one for the lead-in from the start as well; no stretch counts for more than
    sample_interval_cap(), so a gap in the recording counts as no state.
    """
    last = samples[-1]
    ears = [sample.ear for sample in samples if sample.ear is not None]
    measured = [sample for sample in samples if sample.state != PAUSED]
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
        "mean_engagement": _mean([float(sample.engagement) for sample in measured if sample.engagement is not None]),
        "perclos": _mean([sample.perclos for sample in measured if sample.perclos is not None]),
        "time_in_state": {state: round(seconds, 3) for state, seconds in time_in_state.items()},
    }


def close_stale_sessions(*, idle_for: timedelta | None = None) -> int:
    """Ends the active sessions with no sample for `idle_for` (default SMARTSESSION_STALE_AFTER_SECONDS: left open
    by a crash); returns how many.

    Each ends at its newest sample's time (or its start when it has none), so the hours it sat open
    count neither in its duration nor in its blink rate. Lessons left with no stream for
    SMARTSESSION_LESSON_IDLE_MINUTES are closed too (lessons_close_idle).
    """
    if idle_for is None:
        idle_for = timedelta(seconds=settings.SMARTSESSION_STALE_AFTER_SECONDS)
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
    # The lessons those sessions kept open may now have had no stream for long enough.
    lessons_close_idle()
    return ended


def purge_sessions(*, older_than_days: int) -> int:
    """Deletes the sessions that ended more than `older_than_days` ago, with their samples; returns how many.

    Alerts raised before then go too, and lessons that ended before then with no session left.
    Active sessions are never deleted here; close_stale_sessions ends abandoned ones first.
    """
    if older_than_days < 0:
        raise ValueError(f"older_than_days must be 0 or more, not {older_than_days}")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    with transaction.atomic():
        _, deleted = Session.objects.filter(status=Session.Status.ENDED, ended_at__lt=cutoff).delete()
        # Alerts and lessons are records of the same students: they go with the sessions of their time.
        Alert.objects.filter(time__lt=cutoff).delete()
        Lesson.objects.filter(ended_at__lt=cutoff, sessions__isnull=True).delete()
    return deleted.get(Session._meta.label, 0)


def class_engagement_timeline(
    *, bucket_s: int, classroom_id: int | None = None, lesson_id: int | None = None, since: datetime | None = None
) -> list[dict[str, Any]]:
    """Mean engagement per `bucket_s` seconds of a class (since `since`) or of a lesson, from the stored samples.

    Each point, oldest first: {"t": bucket start in Unix seconds, "engagement": mean 0-100, "students":
    sessions sampled}. Paused samples measure nothing and are left out. The live dashboard starts its
    timeline from this, so a reload does not lose the last minutes; the lesson report draws it whole.
    """
    samples = MetricSample.objects.filter(engagement__isnull=False)
    if classroom_id is not None:
        samples = samples.filter(session__classroom_id=classroom_id)
    if lesson_id is not None:
        samples = samples.filter(session__lesson_id=lesson_id)
    if since is not None:
        samples = samples.filter(time__gte=since)
    buckets: dict[int, tuple[list[int], set[int]]] = {}
    samples = samples.order_by("time").values_list("time", "engagement", "session_id")
    for moment, engagement, session_id in samples.iterator():
        key = int(moment.timestamp()) // bucket_s * bucket_s
        values, sessions = buckets.setdefault(key, ([], set()))
        values.append(engagement)
        sessions.add(session_id)
    return [
        {"t": key, "engagement": round(sum(values) / len(values), 1), "students": len(sessions)}
        for key, (values, sessions) in sorted(buckets.items())
    ]


# ---- Lessons -------------------------------------------------------------------------------------


def lesson_idle_after() -> timedelta:
    """How long a lesson stays open with nobody streaming before it closes itself."""
    return timedelta(minutes=settings.SMARTSESSION_LESSON_IDLE_MINUTES)


def _last_stream_end(lesson: Lesson) -> datetime | None:
    """When the lesson's last stream ended (its start if it had none), or None while a session is active."""
    if lesson.sessions.filter(status=Session.Status.ACTIVE).exists():
        return None
    last_end = lesson.sessions.aggregate(last=Max("ended_at"))["last"]
    return max(last_end, lesson.started_at) if last_end is not None else lesson.started_at


def _close_if_idle(lesson: Lesson, *, now: datetime) -> bool:
    """Ends `lesson` (row locked by the caller) at its last stream's end if nobody has streamed since long enough."""
    last_end = _last_stream_end(lesson)
    if last_end is None or now - last_end < lesson_idle_after():
        return False
    lesson.ended_at = last_end
    lesson.end_reason = Lesson.EndReason.IDLE
    lesson.save(update_fields=["ended_at", "end_reason"])
    return True


def _open_lesson_locked(classroom: models.Model) -> Lesson | None:
    return Lesson.objects.select_for_update().filter(classroom=classroom, ended_at__isnull=True).first()


def lesson_for_stream(*, classroom: models.Model, at: datetime) -> Lesson:
    """The class's lesson in progress for a stream starting `at`, opened now if there is none (or it went idle).

    Call inside a transaction; two streams racing to open one meet the one-open-lesson constraint, and
    the caller's retry finds the winner's lesson.
    """
    lesson = _open_lesson_locked(classroom)
    if lesson is not None and _close_if_idle(lesson, now=max(at, timezone.now())):
        lesson = None
    if lesson is None:
        lesson = Lesson.objects.create(classroom=classroom, started_at=at)
    return lesson


def lesson_current(*, classroom: models.Model) -> Lesson | None:
    """The class's lesson in progress, if any; one that has gone idle is closed first."""
    lessons_close_idle(classroom=classroom)
    return Lesson.objects.filter(classroom=classroom, ended_at__isnull=True).select_related("opened_by").first()


def lesson_start(*, classroom: models.Model, teacher: AbstractBaseUser) -> tuple[Lesson, bool]:
    """The teacher starts a lesson: (the new lesson, True), or (the one already in progress, False)."""
    conflict: IntegrityError | None = None
    for _ in range(START_ATTEMPTS):
        try:
            with transaction.atomic():
                lesson = _open_lesson_locked(classroom)
                if lesson is not None and not _close_if_idle(lesson, now=timezone.now()):
                    return lesson, False
                return Lesson.objects.create(classroom=classroom, opened_by=teacher, started_at=timezone.now()), True
        except IntegrityError as error:
            conflict = error
    raise conflict


def lesson_end(*, lesson_id: int, ended_at: datetime | None = None) -> Lesson:
    """The teacher ends a lesson; idempotent. Its active sessions end with it, at the same moment.

    A student whose page is still streaming then goes on in a new session, which opens the next lesson
    (session_record_stream): nothing is recorded outside a lesson.
    """
    with transaction.atomic():
        lesson = Lesson.objects.select_for_update().get(pk=lesson_id)
        if lesson.ended_at is not None:
            return lesson
        ended_at = max(ended_at or timezone.now(), lesson.started_at)
        active = Session.objects.select_for_update(of=("self",)).filter(lesson=lesson, status=Session.Status.ACTIVE)
        for session in active:
            _finish(session, ended_at=ended_at)
        lesson.ended_at = ended_at
        lesson.end_reason = Lesson.EndReason.TEACHER
        lesson.save(update_fields=["ended_at", "end_reason"])
    return lesson


def lessons_close_idle(*, now: datetime | None = None, classroom: models.Model | None = None) -> int:
    """Closes the lessons in progress with no stream for SMARTSESSION_LESSON_IDLE_MINUTES; returns how many.

    Each ends when its last stream ended. Called by close_stale_sessions (cron, and the server's own
    periodic job), when a stream starts and when a teacher opens the dashboard, so a lesson closes on time
    even where nothing runs close_stale_sessions.
    """
    now = now or timezone.now()
    lessons = Lesson.objects.filter(ended_at__isnull=True, started_at__lte=now - lesson_idle_after())
    if classroom is not None:
        lessons = lessons.filter(classroom=classroom)
    closed = 0
    for lesson_id in list(lessons.values_list("pk", flat=True)):
        with transaction.atomic():
            lesson = Lesson.objects.select_for_update().filter(pk=lesson_id, ended_at__isnull=True).first()
            if lesson is not None and _close_if_idle(lesson, now=now):
                closed += 1
    return closed


def session_record_stream(*, session_id: int, samples: Sequence[SampleIn]) -> int | None:
    """The live recorder's write: the samples go into the session, and the id of the session holding them comes back.

    When the session ended with its lesson (the teacher ended it, or it went idle) while the stream goes on,
    the samples from after the lesson's end start a new session of the same student and class, in the lesson
    open then (or a new one), so nothing is recorded outside a lesson. Everything else is session_record_samples'
    to decide. A student no longer in the class records nothing more. None, and nothing stored, when the session
    no longer exists (the student erased their records): that stream then records nothing more.
    """
    if not samples:
        return session_id
    session = Session.objects.select_related("student", "classroom", "lesson").filter(pk=session_id).first()
    if session is None:
        return None
    lesson_ended_at = (
        session.lesson.ended_at
        if session.status == Session.Status.ENDED and session.lesson is not None
        else None
    )
    if lesson_ended_at is None:
        session_record_samples(session_id=session_id, samples=samples)
        return session_id
    before = [sample for sample in samples if sample.time <= lesson_ended_at]
    after = [sample for sample in samples if sample.time > lesson_ended_at]
    if before:
        session_record_samples(session_id=session_id, samples=before)
    if not after or session.classroom is None:
        return session_id
    try:
        new_session, _ = session_start(student=session.student, classroom=session.classroom,
                                       started_at=after[0].time, fresh=True, analysis=session.analysis)
    except PermissionDenied:
        return session_id
    # The stream's counters go on from where they stood when its last session ended.
    session.refresh_from_db()
    new_session.stream_blinks_before = session.stream_blinks_before + session.blink_count
    new_session.stream_frames_before = session.stream_frames_before + session.frames_analysed
    new_session.save(update_fields=["stream_blinks_before", "stream_frames_before"])
    session_record_samples(session_id=new_session.pk, samples=after)
    return new_session.pk


def sessions_totals_so_far(sessions: Sequence[Session]) -> dict[int, dict[str, Any]]:
    """session_totals_so_far of each session, by id, with every active one's samples read in one query."""
    active = [session.pk for session in sessions if session.status == Session.Status.ACTIVE]
    samples: dict[int, list[MetricSample]] = {session_id: [] for session_id in active}
    for sample in MetricSample.objects.filter(session_id__in=active).order_by("session_id", "time", "id"):
        samples[sample.session_id].append(sample)
    return {session.pk: session_totals_so_far(session, samples=samples.get(session.pk)) for session in sessions}


def session_totals_so_far(session: Session, *, samples: list[MetricSample] | None = None) -> dict[str, Any]:
    """An ended session's totals as stored; an active one's computed from its samples so far, up to the newest.

    Keys: TOTAL_FIELDS, and "until" (ended_at, or the newest sample's time; None before any sample).
    `samples`: the active session's samples in time order, when the caller has read them already.
    """
    if session.status == Session.Status.ENDED:
        totals = {field: getattr(session, field) for field in TOTAL_FIELDS}
        return {**totals, "until": session.ended_at}
    if samples is None:
        samples = list(session.samples.order_by("time", "id"))
    if not samples:
        return {**{field: Session._meta.get_field(field).get_default() for field in TOTAL_FIELDS}, "until": None}
    until = max(samples[-1].time, session.started_at)
    totals = _totals_from_samples(samples, started_at=session.started_at, ended_at=until)
    totals["blink_rate_per_min"] = _unpaused_blink_rate(totals, until - session.started_at)
    return {**totals, "until": until}


# ---- Alerts ----------------------------------------------------------------------------------------

ALERT_REASON_MAX_LENGTH = Alert._meta.get_field("reason").max_length


@dataclass(frozen=True)
class AlertIn:
    """An alert as the live path raised it (classroom.alerts), with the wall-clock time the teacher was told."""

    kind: str
    reason: str
    time: datetime


def alerts_record(
    *, student_id: int, classroom_id: int, alerts: Sequence[AlertIn], session_id: int | None = None
) -> list[Alert]:
    """Stores alerts about one student in one class, in the lesson of their session (or the class's lesson).

    The session's lesson when `session_id` names an active session; otherwise the lesson in progress, which
    a connected student's alert opens if there is none (the camera went silent before the first frame).
    """
    if not alerts:
        return []
    with transaction.atomic():
        session = (
            Session.objects.filter(pk=session_id, status=Session.Status.ACTIVE).select_related("lesson").first()
            if session_id is not None
            else None
        )
        lesson = session.lesson if session is not None else None
        if lesson is None:
            classroom = classroom_model().objects.get(pk=classroom_id)
            lesson = lesson_for_stream(classroom=classroom, at=alerts[0].time)
        return Alert.objects.bulk_create(
            [
                Alert(
                    student_id=student_id, lesson=lesson, session=session, kind=alert.kind,
                    reason=alert.reason[:ALERT_REASON_MAX_LENGTH], time=alert.time,
                )
                for alert in alerts
            ]
        )
