"""Fixtures for all tests, and what happens when a service or the shared data is missing.

On a bare machine `make test` passes: tests that need Redis, PostgreSQL or ../shared/testdata
are skipped with the reason (pytest.ini's -ra lists them). A service that is configured but
does not answer fails instead, because that is a broken set-up, not a missing one. CI sets
SMARTSESSION_REQUIRE_SHARED_DATA=1 and SMARTSESSION_FORBID_SKIPS=1, so it cannot go green by skipping.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
MARKER_FIXTURES = {
    "redis": "redis_url",
    "postgres": "postgres",
    "shared_data": "shared_testdata",
    "browser": "chromium_executable",
}
# Chromium, Daphne and fake-camera fixtures for the browser tests.
pytest_plugins = ["browser_fixtures"]


def _flag(name: str) -> bool:
    return os.getenv(name, "").strip() == "1"


def _where(url: str) -> str:
    """The URL without its user and password, so a password never lands in test output."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def _shared_testdata_path() -> Path:
    configured = os.getenv("SMARTSESSION_TESTDATA", "")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "testdata"


@pytest.fixture(scope="session")
def shared_testdata() -> Path:
    """The real faces and videos in ../shared/testdata (or SMARTSESSION_TESTDATA); never copied into the repo."""
    path = _shared_testdata_path()
    if not path.is_dir():
        message = (
            f"shared test data not found at {path}: "
            "put it at ../shared/testdata beside the repository or set SMARTSESSION_TESTDATA to its folder"
        )
        if _flag("SMARTSESSION_REQUIRE_SHARED_DATA"):
            pytest.fail(f"{message} (SMARTSESSION_REQUIRE_SHARED_DATA=1)", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.getenv("REDIS_URL", "")
    if not url:
        pytest.skip("REDIS_URL is not set: no Redis to test against")
    import redis  # Only here: the rest of the suite must not depend on a Redis client.

    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"REDIS_URL is set to {_where(url)} but Redis does not answer: {error}", pytrace=False)
    finally:
        client.close()
    return url


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of the test's own (tests/server_process.py), for tests that stop and start Redis for real."""
    import shutil

    from server_process import PrivateRedis

    if shutil.which("redis-server") is None and not Path("/usr/bin/redis-server").is_file():
        message = "redis-server is not installed (apt-get install redis-server): no Redis to stop and start"
        if _flag("SMARTSESSION_FORBID_SKIPS"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres() -> str:
    """The PostgreSQL DATABASE_URL the test database is made from; the settings already use it."""
    url = os.getenv("DATABASE_URL", "")
    if not url or "postgresql" not in dj_database_url.parse(url)["ENGINE"]:
        where = _where(url) if url else "unset"
        pytest.skip(f"DATABASE_URL is not a PostgreSQL URL ({where}): no PostgreSQL to test against")
    return url


@pytest.fixture(autouse=True)
def _services_for_markers(request: pytest.FixtureRequest) -> None:
    # A marker alone is enough to get the skip-or-fail rule above, so marker and fixture can't disagree.
    for marker, fixture in MARKER_FIXTURES.items():
        if request.node.get_closest_marker(marker):
            request.getfixturevalue(fixture)


# The CI guard: with SMARTSESSION_FORBID_SKIPS=1 any skipped test fails the run.
_skipped: list[tuple[str, str]] = []


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    # A skip's longrepr is (path, line, "Skipped: reason").
    if isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    return str(report.longrepr)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # xfail is reported as skipped too, but it ran and is an expected failure: not a skip.
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append((report.nodeid, _skip_reason(report)))


def pytest_collectreport(report: pytest.CollectReport) -> None:
    # A whole module skipped at import (pytest.importorskip, module-level skip).
    if report.skipped:
        _skipped.append((report.nodeid, _skip_reason(report)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _flag("SMARTSESSION_FORBID_SKIPS") and _skipped and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _flag("SMARTSESSION_FORBID_SKIPS") and _skipped:
        terminalreporter.section("SMARTSESSION_FORBID_SKIPS=1: skipped tests fail this run", red=True)
        for nodeid, reason in _skipped:
            terminalreporter.line(f"SKIPPED {nodeid}: {reason}", red=True)


# Vision: one landmarker for the whole run (loading it costs about a second), and the labelled-data
# evaluations computed once and shared by the tests that assert on them.
@pytest.fixture(scope="session")
def analyzer():
    from vision.face import FaceAnalyzer

    with FaceAnalyzer() as face_analyzer:
        yield face_analyzer


@pytest.fixture(scope="session")
def analyze_image(shared_testdata, analyzer):
    """Analysis of one image, by path or by name relative to the shared data; cached for the run."""
    from vision.media import read_frames

    cache = {}

    def analyze(name):
        path = Path(name) if Path(name).is_absolute() else shared_testdata / name
        if path not in cache:
            _, _, rgb = next(read_frames(path))
            cache[path] = analyzer.analyze(rgb)
        return cache[path]

    return analyze


def _run_folder(tmp_path_factory, worker_id: str) -> Path:
    """A folder all pytest-xdist workers of this run share (the run's own folder without xdist)."""
    return tmp_path_factory.getbasetemp().parent if worker_id != "master" else tmp_path_factory.getbasetemp()


def _made_once(target: Path, make, *, wait: bool = True) -> None:
    """`make(folder_or_file)` writes `target` once per run, whichever worker comes first; the others wait for it
    (the pattern pytest-xdist documents for session fixtures). Without `wait`, nothing happens while another
    worker is at it."""
    with open(target.with_name(target.name + ".lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return
        if not target.exists():
            partial = target.with_name(target.name + ".partial")
            make(partial)
            partial.replace(target)


def _evaluate_into(shared: Path, data_dir: Path, analyzer, *, wait: bool) -> None:
    from vision.evaluate import evaluate_all

    _made_once(shared, lambda partial: partial.write_text(json.dumps(evaluate_all(data_dir, analyzer))), wait=wait)


@pytest.fixture(scope="session", autouse=True)
def _evaluation_started_early(request, tmp_path_factory, worker_id):
    """Under pytest-xdist, worker gw0 starts the evaluation on a thread of its own as the run starts (a minute of
    model time on the ZJU clips) and goes on with other tests meanwhile: MediaPipe releases the GIL. The tests that
    need it then find it done instead of holding a worker for that minute. Nothing starts without the shared data
    or when no collected test needs it."""
    data_dir = _shared_testdata_path()
    needed = any("evaluation_report" in item.fixturenames for item in request.session.items)
    if worker_id != "gw0" or not data_dir.is_dir() or not needed:
        yield
        return
    import threading

    def evaluate() -> None:
        from vision.face import FaceAnalyzer

        try:
            with FaceAnalyzer() as face_analyzer:  # its own: the session's analyzer serves this worker's tests
                _evaluate_into(_run_folder(tmp_path_factory, worker_id) / "evaluation_report.json", data_dir,
                               face_analyzer, wait=False)
        except Exception:  # noqa: BLE001 - evaluation_report computes it again, and its tests fail with the error
            pass

    background = threading.Thread(target=evaluate, name="evaluation", daemon=True)
    background.start()
    yield
    background.join()


@pytest.fixture(scope="session")
def evaluation_report(shared_testdata, analyzer, tmp_path_factory, worker_id):
    """`python -m vision evaluate` on the shared data (blinks, head pose, smiles, detection), computed once per run.

    Under pytest-xdist it is started as the run starts (_evaluation_started_early), and a worker that needs it
    first waits for it and reads what was written. (pytest-xdist's xdist_group marks cannot do this here: 3.8.0
    sets Item._nodeid, which pytest 9 no longer reads, so both workers computed the evaluation at once.) Every
    worker gets the report as JSON gives it back, as `vision evaluate --json` prints it.
    """
    shared = _run_folder(tmp_path_factory, worker_id) / "evaluation_report.json"
    _evaluate_into(shared, shared_testdata, analyzer, wait=True)
    return json.loads(shared.read_text())


@pytest.fixture(scope="session")
def zju_blinks(evaluation_report):
    return evaluation_report["blinks"]


@pytest.fixture(scope="session")
def head_pose_report(evaluation_report):
    return evaluation_report["head_pose"]


@pytest.fixture(scope="session")
def london_report(evaluation_report):
    return evaluation_report["expressions"]["london_faces/labels.csv"]


# Real frames for the live sockets: a webcam-like clip of one man, and a photo with nobody in it.
@pytest.fixture(scope="session")
def face_frames(shared_testdata):
    """(t in seconds, JPEG bytes) for every frame of pyfeat/single_face.mp4 (640x360, 30 fps, 72 frames)."""
    import cv2

    from vision.media import read_frames

    return [
        (t, cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 70])[1].tobytes())
        for _, t, rgb in read_frames(shared_testdata / "pyfeat" / "single_face.mp4")
    ]


@pytest.fixture(scope="session")
def nonface_jpeg(shared_testdata):
    return (shared_testdata / "nonface" / "fox-715588_640.jpg").read_bytes()


# Classroom: users, teachers and a class as real rows in the test database. Users get no password
# unless a test passes one, because hashing costs about 0.3 s each.
@pytest.fixture
def make_user(db, django_user_model):
    """make_user("ada", teacher=True, first_name="Ada"): a user, in the "teachers" group if teacher."""

    def make(username: str, *, teacher: bool = False, **fields):
        from django.contrib.auth.models import Group

        from classroom.roles import TEACHERS_GROUP

        user = django_user_model.objects.create_user(username=username, **fields)
        if teacher:
            group, _ = Group.objects.get_or_create(name=TEACHERS_GROUP)
            user.groups.add(group)
        return user

    return make


@pytest.fixture
def teacher(make_user):
    return make_user("teacher", teacher=True)


@pytest.fixture
def other_teacher(make_user):
    return make_user("other_teacher", teacher=True)


@pytest.fixture
def student(make_user):
    return make_user("student")


@pytest.fixture
def other_student(make_user):
    return make_user("other_student")


@pytest.fixture
def classroom(teacher, student):
    """A class taught by `teacher` with `student` as its one member, who has consented, made through the services."""
    from classroom.services import classroom_create, classroom_join, membership_consent

    created = classroom_create(teacher=teacher, name="Physics 1")
    membership_consent(membership=classroom_join(student=student, code=created.join_code))
    return created


@pytest.fixture
def fast_password_hashing(settings):
    # For tests that set many passwords: what they check is which password, not how it is hashed.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def ada(make_user, fast_password_hashing):
    """A user "ada" who logs in with the password "ada-passphrase" (for tests of logins and tokens)."""
    user = make_user("ada")
    user.set_password("ada-passphrase")
    user.save()
    return user


def _close_in_memory_database_connections_of_this_thread() -> None:
    from django.db import connections
    from django.db.backends.base.base import BaseDatabaseWrapper

    for connection in connections.all(initialized_only=True):
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            # BaseDatabaseWrapper.close, because SQLite's close() ignores an in-memory database, which is
            # what the test database is; the main thread's connection keeps that shared database alive.
            BaseDatabaseWrapper.close(connection)


@pytest.fixture(autouse=True)
def _no_database_connection_left_in_the_sync_thread(request: pytest.FixtureRequest):
    """After an async test with the database on SQLite, close what database_sync_to_async opened.

    Those calls run in asgiref's one shared sync thread. On SQLite the test database lives in memory
    and Django never closes a connection to it, so the connection outlives the test; a later consumer
    test without database access then fails inside channels' own aclose_old_connections (it asks the
    connection for its autocommit state, which pytest-django forbids). PostgreSQL connections are
    closed by Django and channels as usual and are left to them.
    """
    yield
    marker = request.node.get_closest_marker("django_db")
    if not (marker and marker.kwargs.get("transaction")) and "transactional_db" not in request.fixturenames:
        return
    from asgiref.sync import SyncToAsync

    SyncToAsync.single_thread_executor.submit(_close_in_memory_database_connections_of_this_thread).result(timeout=30)


# Each async test runs on its own event loop, but the channel layer and the live registry are per process:
# a Redis layer's locks and connections belong to the loop that made them, and a student's live state from
# one test (its timers bound to a finished loop) must not greet the next test's student with the same ids.
@pytest.fixture(autouse=True)
def fresh_live_state(monkeypatch):
    from channels.layers import channel_layers

    from classroom import live, recording

    channel_layers.backends.clear()
    monkeypatch.setattr(live, "registry", live.LiveRegistry())
    yield
    channel_layers.backends.clear()
    # A write still running on the recorder's thread would hold the tables the test database is emptying.
    recording.wait_for_writes()


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory, worker_id) -> Path:
    """STATIC_ROOT as `manage.py collectstatic` makes it for production (DEBUG off: hashed names, gzip copies);
    made once per run, since compressing the pages' packages takes several seconds."""
    import subprocess
    import sys

    def collect(static_root: Path) -> None:
        env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "collectstatic-only", "STATIC_ROOT": str(static_root)}
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=REPO_ROOT,
                       env=env, check=True, timeout=300)

    static_root = _run_folder(tmp_path_factory, worker_id) / "collected-static"
    _made_once(static_root, collect)
    return static_root


# Rate-limit counters (the token throttle, join guesses) live in the cache: each test gets an empty one of its
# own, in memory, so no test inherits another's counts, whatever REDIS_URL says. Login lockouts live in the
# test database and go with it.
@pytest.fixture(autouse=True)
def fresh_cache(settings):
    import uuid

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    }


# Sessions: a metric sample with sensible defaults, and a session made as the live recorder makes one.
@pytest.fixture
def make_sample():
    """make_sample(at, state="drowsy", ...): a sessions_app.services.SampleIn; `at` is a datetime."""
    from sessions_app.services import SampleIn

    def make(at, **fields):
        values = {
            "ear": 0.3,
            "blinks": 0,
            "blink_rate_per_min": 0.0,
            "engagement": 80,
            "state": "focused",
            "perclos": 0.0,
            "confidence": "ok",
            "frames": 0,
        }
        return SampleIn(time=at, **{**values, **fields})

    return make


@pytest.fixture
def make_session(db):
    """make_session(student, classroom=None, started_at=None, samples=(), ended_at=None): a Session.

    Stored as it stands, skipping session_start's membership check; the samples go through
    session_record_samples, and it is ended with session_end when `ended_at` is given.
    """
    from django.utils import timezone

    from sessions_app.models import Session
    from sessions_app.services import session_end, session_record_samples

    def make(student, *, classroom=None, started_at=None, samples=(), ended_at=None):
        session = Session.objects.create(student=student, classroom=classroom, started_at=started_at or timezone.now())
        session_record_samples(session_id=session.pk, samples=samples)
        if ended_at is not None:
            session = session_end(session_id=session.pk, ended_at=ended_at)
        return session

    return make


@pytest.fixture
def staff_user(make_user):
    return make_user("staff", is_staff=True)


@pytest.fixture
def api():
    """api(user): a DRF test client logged in as `user`; api(None): an anonymous one."""
    from rest_framework.test import APIClient

    def make(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make
