"""Real-browser fixtures: Debian's Chromium driven by Playwright, a real Daphne server, a fake camera.

The camera plays a .y4m file made at test time from a real clip of ../shared/testdata (Chromium's
--use-file-for-fake-video-capture); it is written under pytest's tmp folder and never kept.
Playwright's own browser download is never used: `executable_path` points at the system Chromium.

Without Chromium or the npm packages (no Node.js) these tests skip and say why; CI sets
SMARTSESSION_REQUIRE_BROWSER=1, which turns that skip into a failure.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from bench.servers import free_port, stop_process  # noqa: F401 - one free-port probe and stop for tests and make bench

REPO_ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "browser-test-passphrase"
# Chromium cannot reach the internet here, and its background services would only fail, some at every start.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
]
CLASS_NAME = "Browser class"
# One user per test that streams, so the 30 s resume window of one test never reaches into another.
STUDENTS = ("sam", "ana", "ben", "cleo", "dev", "eli", "fay", "gus", "hal", "ivy", "jo", "kit")

SETUP_SCRIPT = """
from django.contrib.auth.models import Group, User
from classroom.services import classroom_create, classroom_join
User.objects.create_superuser("root", password="{password}")
teacher = User.objects.create_user("tess", password="{password}", first_name="Tess", last_name="Teacher")
teacher.groups.add(Group.objects.get_or_create(name="teachers")[0])
classroom = classroom_create(teacher=teacher, name="{class_name}")
for username in {students!r}:
    student = User.objects.create_user(username, password="{password}", first_name=username.title())
    if username != "{joins_itself}":
        classroom_join(student=student, code=classroom.join_code)
print(classroom.join_code)
"""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--screenshots",
        metavar="DIR",
        default="",
        help="where tests/test_browser_screenshots.py saves its pictures (make screenshots: docs/screenshots)",
    )


def _require(what: str) -> None:
    message = f"browser tests need {what}"
    if os.getenv("SMARTSESSION_REQUIRE_BROWSER", "").strip() == "1":
        pytest.fail(f"{message} (SMARTSESSION_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    configured = os.getenv("SMARTSESSION_CHROMIUM", "")
    # The binary itself rather than Debian's /usr/bin/chromium wrapper script, which only adds flags we set anyway.
    candidates = [configured] if configured else ["/usr/lib/chromium/chromium", shutil.which("chromium") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            break
    else:
        _require("Chromium: install Debian's package (apt-get install chromium) or set SMARTSESSION_CHROMIUM")
    if not (REPO_ROOT / "node_modules" / "uplot" / "dist").is_dir():
        _require("the front-end packages: install Node.js 18+ and run make setup (npm ci)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _require("Playwright for Python (make setup installs it from requirements.txt)")
    return candidate


def write_y4m(frames_rgb, path: Path, fps: int = 30) -> Path:
    """A raw YUV4MPEG2 file Chromium's fake camera can play (4:2:0, the camera's own format); it loops."""
    import cv2

    height, width = frames_rgb[0].shape[:2]
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames_rgb:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


@pytest.fixture(scope="session")
def face_camera(shared_testdata, tmp_path_factory) -> Path:
    """A real face, looking at the camera and blinking: pyfeat's single_face.mp4 (640x360, 2.4 s, looped)."""
    from vision.media import read_frames

    frames = [rgb for _, _, rgb in read_frames(shared_testdata / "pyfeat" / "single_face.mp4")]
    return write_y4m(frames, tmp_path_factory.mktemp("camera") / "face.y4m")


@pytest.fixture(scope="session")
def empty_room_camera(shared_testdata, tmp_path_factory) -> Path:
    """No face at all: a real photo of a fox, held for a second (and looped)."""
    import cv2

    bgr = cv2.imread(str(shared_testdata / "nonface" / "fox-715588_640.jpg"))
    rgb = cv2.cvtColor(cv2.resize(bgr, (640, 360)), cv2.COLOR_BGR2RGB)
    return write_y4m([rgb] * 30, tmp_path_factory.mktemp("camera") / "empty-room.y4m")


@dataclass(frozen=True)
class PageServer:
    url: str
    code: str
    teacher: str = "tess"
    password: str = PASSWORD


def wait_until_serving(url: str, process: subprocess.Popen, log: Path, *, timeout_s: float = 60, tls=None) -> None:
    """Polls `url` until it answers (any HTTP status), failing early if `process` exits; `log` is its output.

    `tls`: the ssl.SSLContext for an https URL (one that trusts a test's own certificate).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        assert process.poll() is None, f"{process.args[0]} exited early; see {log}"
        try:
            with urllib.request.urlopen(url, timeout=1, context=tls):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer within {timeout_s:g} s; see {log}") from None
            time.sleep(0.2)


# script -> (a copy of the database it made on a new server, its last line of output), for this process.
_databases_made: dict[str, tuple[Path, str]] = {}


@functools.cache
def _databases_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="smartsession-test-databases-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


class Daphne:
    """`make run`'s server for real: Daphne in its own process, SQLite, the in-memory channel layer.

    stop() and start() again on the same port and database are a server restart, as a deploy does it.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")}
        self.env.update(DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}", DEBUG="1", VISION_WORKERS="2")
        self.process: subprocess.Popen | None = None

    def set_up_class(self) -> PageServer:
        script = SETUP_SCRIPT.format(
            password=PASSWORD, class_name=CLASS_NAME, students=STUDENTS, joins_itself=STUDENTS[0]
        )
        return PageServer(url=self.url, code=self.run_script(script))

    def run_script(self, script: str) -> str:
        """Migrates the server's database and runs `script` in `manage.py shell`; its last line of output.

        A new server's database is a copy of the one the same script made earlier in this process, when there is
        one: migrating and hashing a dozen passwords costs several seconds, and most tests want the same class.
        """
        database = self.folder / "db.sqlite3"
        new = not database.exists()
        if new and script in _databases_made:
            template, last_line = _databases_made[script]
            shutil.copyfile(template, database)
            return last_line
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], cwd=REPO_ROOT, env=self.env, check=True)
        done = subprocess.run([*manage, "shell", "-c", script], cwd=REPO_ROOT, env=self.env, check=True,
                              capture_output=True, text=True)
        last_line = done.stdout.strip().splitlines()[-1]
        if new:
            template = _databases_folder() / f"{len(_databases_made)}.sqlite3"
            shutil.copyfile(database, template)
            _databases_made[script] = (template, last_line)
        return last_line

    def start(self) -> None:
        log = (self.folder / "daphne.log").open("ab")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", str(self.port),
             "smartsession.asgi:application"],
            cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        wait_until_serving(f"{self.url}/healthz", self.process, self.folder / "daphne.log")

    def __enter__(self) -> Daphne:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
        self.process = None


@pytest.fixture(scope="session")
def page_server(chromium_executable, tmp_path_factory):
    """One server and class for the browser tests that need no restart."""
    daphne = Daphne(tmp_path_factory.mktemp("page-server"))
    server = daphne.set_up_class()
    daphne.start()
    try:
        yield server
    finally:
        daphne.stop()


@pytest.fixture
def restartable_server(chromium_executable, tmp_path):
    """A server of the test's own, to stop and start again: (Daphne, PageServer)."""
    daphne = Daphne(tmp_path)
    server = daphne.set_up_class()
    daphne.start()
    try:
        yield daphne, server
    finally:
        daphne.stop()


@pytest_asyncio.fixture
async def launch_browser(chromium_executable):
    """launch_browser(camera=None): a new headless Chromium; with `camera`, its webcam plays that .y4m file."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browsers = []

        async def launch(camera: Path | None = None):
            args = list(CHROMIUM_ARGS)
            if camera is not None:
                args += [
                    "--use-fake-ui-for-media-stream",
                    "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-video-capture={camera}",
                ]
            browser = await playwright.chromium.launch(executable_path=chromium_executable, args=args)
            browsers.append(browser)
            return browser

        yield launch
        for browser in browsers:
            await browser.close()


# Every page a browser test opens reports what the Content-Security-Policy blocked; any report fails the test
# (no_csp_violations), so each page a test visits is also checked against the policy.
CSP_REPORTER = """document.addEventListener("securitypolicyviolation", (event) => window.reportCspViolation(
  `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} on ${location.pathname}`));"""
csp_violations: list[str] = []


@pytest.fixture(autouse=True)
def no_csp_violations():
    csp_violations.clear()
    yield
    found, csp_violations[:] = list(csp_violations), []
    assert found == [], f"Content-Security-Policy violations: {found}"


async def open_page(browser, *, errors: list[str] | None = None, **context_options):
    """A page in a fresh context (its own cookies), collecting script errors into `errors`."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, **context_options)
    await context.expose_function("reportCspViolation", lambda report: csp_violations.append(report))
    await context.add_init_script(CSP_REPORTER)
    page = await context.new_page()
    if errors is not None:
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return page


async def log_in(page, server: PageServer, username: str, *, then: str = "/") -> None:
    await page.goto(f"{server.url}/accounts/login/?next={then}")
    await page.fill("#id_username", username)
    await page.fill("#id_password", server.password)
    await page.click("button[type=submit]")
    await page.wait_for_load_state()


async def tab_to(page, selector: str, *, presses: int = 40, shift: bool = False) -> None:
    """Press Tab until the focused element matches `selector`: proves it is reachable by keyboard alone."""
    for _ in range(presses):
        if await page.evaluate("(selector) => document.activeElement?.matches(selector) ?? false", selector):
            return
        await page.keyboard.press("Shift+Tab" if shift else "Tab")
    raise AssertionError(f"{selector} was not reached with {presses} presses of Tab")
