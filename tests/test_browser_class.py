"""A class of 30 on the dashboard at 1280 pixels, and the report of its lesson: real sockets, real faces, real Chromium.

Thirty students are simulated by real WebSocket clients on a real Daphne, sending real frames from the shared
clips: most look at the screen, some are away, two paused, two look aside, two never come, and two come and
go to keep the order moving. The class is expression-free, as new classes are. `make screenshots` keeps the pictures in docs/screenshots/.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import cv2
import pytest
from browser_fixtures import PASSWORD, Daphne, PageServer, log_in

pytestmark = [pytest.mark.browser, pytest.mark.shared_data, pytest.mark.slow]

WIDTH, HEIGHT = 1280, 800
SEEN_WITHIN_MS = 60_000
# The cards are re-ordered at most every 10 s (static/js/dashboard/cards.js): no card moves twice within this.
CALM_S = 9.0
WATCH_S = 22.0

CLASS_SCRIPT = """
import json
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from classroom.services import classroom_create, classroom_join, demo_student_name, membership_consent
teacher = User.objects.create_user("tess", password="{password}", first_name="Tess", last_name="Teacher")
teacher.groups.add(Group.objects.get_or_create(name="teachers")[0])
classroom = classroom_create(teacher=teacher, name="Year 9 Physics")
tokens = {{}}
for number in range(1, 31):
    first, last = demo_student_name(number)
    student = User.objects.create_user(f"s{{number:02d}}", first_name=first, last_name=last)
    membership_consent(membership=classroom_join(student=student, code=classroom.join_code))
    tokens[student.username] = Token.objects.create(user=student).key
print(json.dumps({{"code": classroom.join_code, "tokens": tokens}}))
"""


def encode(bgr, width: int = 480) -> bytes:
    height = round(bgr.shape[0] * width / bgr.shape[1])
    return cv2.imencode(".jpg", cv2.resize(bgr, (width, height)), [cv2.IMWRITE_JPEG_QUALITY, 70])[1].tobytes()


@pytest.fixture(scope="module")
def pictures(shared_testdata) -> dict[str, list[bytes]]:
    """JPEG frames for each behaviour, from the shared data: a face, an empty room, a turned head."""
    from vision.media import read_frames

    face = [encode(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)) for _, _, rgb in read_frames(shared_testdata / "pyfeat" / "single_face.mp4")]
    return {
        "face": face[::3],
        "empty": [encode(cv2.imread(str(shared_testdata / "nonface" / "fox-715588_640.jpg")))],
        "turned": [encode(cv2.imread(str(shared_testdata / "aflw2000" / "image04331.jpg")))],  # 45 degrees of yaw
    }


# What each student does: a list of (from second, pictures to send, or "pause").
BEHAVIOURS = {
    **{f"s{number:02d}": [(0, "face")] for number in range(1, 19)},
    "s19": [(0, "face"), (4, "empty"), (8, "face"), (12, "empty"), (16, "face"), (20, "empty"), (24, "face"),
            (28, "empty"), (32, "face"), (36, "empty"), (40, "face"), (44, "empty"), (48, "face")],
    "s20": [(0, "empty"), (5, "face"), (10, "empty"), (15, "face"), (20, "empty"), (25, "face"), (30, "empty"),
            (35, "face"), (40, "empty"), (45, "face")],
    "s21": [(0, "empty")], "s22": [(0, "empty")], "s23": [(0, "empty")],
    "s24": [(0, "face"), (3, "pause")], "s25": [(0, "face"), (3, "pause")],
    "s26": [(0, "face"), (4, "turned")], "s27": [(0, "face"), (4, "turned")],
    "s28": [(0, "face")],
    # s29 and s30 never come.
}


async def simulated_student(url: str, origin: str, token: str, plan, pictures, stop: asyncio.Event) -> None:
    import websockets

    loop = asyncio.get_running_loop()
    async with websockets.connect(
        url, additional_headers={"Authorization": f"Token {token}", "Origin": origin}, max_size=2**22
    ) as socket:
        started = loop.time()
        sent = 0
        while not stop.is_set():
            elapsed = loop.time() - started
            doing = [what for since, what in plan if since <= elapsed][-1]
            if doing == "pause":
                await socket.send(json.dumps({"type": "pause"}))
                await stop.wait()
                break
            frames = pictures[doing]
            await socket.send(frames[sent % len(frames)])
            sent += 1
            while json.loads(await asyncio.wait_for(socket.recv(), 20))["type"] not in ("feedback", "error"):
                pass
            await asyncio.sleep(max(0.0, started + sent * 0.8 - loop.time()))  # about 1.25 frames a second


@pytest.fixture(scope="module")
def class_of_30(chromium_executable, tmp_path_factory):
    daphne = Daphne(tmp_path_factory.mktemp("class-of-30"))
    created = json.loads(daphne.run_script(CLASS_SCRIPT.format(password=PASSWORD)))
    daphne.start()
    try:
        yield daphne, PageServer(url=daphne.url, code=created["code"]), created["tokens"]
    finally:
        daphne.stop()


@pytest.fixture
def screenshot_dir(request, tmp_path) -> Path:
    folder = Path(request.config.getoption("--screenshots") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def count_of(state: str) -> str:
    return f"Number(document.querySelector('#counts [data-state={state}]')?.textContent ?? -1)"


async def card_order(page) -> list[str]:
    return await page.evaluate("[...document.querySelectorAll('#cards > li')].map((card) => card.dataset.studentId)")


async def test_it_shows_a_class_of_30_at_1280_pixels_calmly_and_reports_its_lesson(
    class_of_30, launch_browser, pictures, screenshot_dir
):
    daphne, server, tokens = class_of_30
    browser = await launch_browser()
    context = await browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    teacher = await context.new_page()
    errors: list[str] = []
    teacher.on("pageerror", lambda error: errors.append(str(error)))
    await log_in(teacher, server, server.teacher)
    await teacher.goto(f"{server.url}/teach/{server.code}/")

    stop = asyncio.Event()
    origin = server.url
    url = server.url.replace("http://", "ws://") + f"/ws/student/{server.code}/"
    students = [
        asyncio.ensure_future(simulated_student(url, origin, tokens[name], plan, pictures, stop))
        for name, plan in BEHAVIOURS.items()
    ]
    try:
        # Everyone's state arrives: most focused, the empty room absent, two paused, two aside, two never came.
        await teacher.wait_for_function(
            f"() => {count_of('focused')} >= 15 && {count_of('absent')} >= 3 && "
            f"{count_of('paused')} == 2 && {count_of('distracted')} >= 1 && {count_of('offline')} == 2",
            timeout=SEEN_WITHIN_MS,
        )
        # Every card on one screen without scrolling: a compact grid of a few rows.
        layout = await teacher.evaluate(
            """() => {
              const boxes = [...document.querySelectorAll('#cards > li')].map((card) => card.getBoundingClientRect());
              return {count: boxes.length, bottom: Math.max(...boxes.map((box) => box.bottom)),
                      rows: new Set(boxes.map((box) => Math.round(box.top))).size,
                      compact: document.getElementById('cards').classList.contains('is-compact'),
                      scrolled: window.scrollY, height: window.innerHeight, width: document.documentElement.scrollWidth}
            }"""
        )
        assert layout["count"] == 30 and layout["compact"]
        assert layout["scrolled"] == 0 and layout["bottom"] <= layout["height"], layout
        assert layout["rows"] <= 6 and layout["width"] <= WIDTH, layout

        # "Needs attention first" while two students come and go: cards move, but none twice within CALM_S.
        await teacher.select_option("#sort", "attention")
        loop = asyncio.get_running_loop()
        watched_from = loop.time()
        moves: dict[str, list[float]] = {}
        previous = await card_order(teacher)
        while loop.time() - watched_from < WATCH_S:
            await asyncio.sleep(0.25)
            order = await card_order(teacher)
            for index, student_id in enumerate(order):
                if previous.index(student_id) != index:
                    moves.setdefault(student_id, []).append(loop.time())
            previous = order
        assert moves, "nothing moved: the calm rule was not exercised"
        for student_id, times in moves.items():
            gaps = [later - earlier for earlier, later in zip(times, times[1:])]
            assert all(gap >= CALM_S for gap in gaps), (student_id, gaps)
        first = await teacher.evaluate("document.querySelector('#cards > li').dataset.state")
        assert first == "absent"  # the most in need of attention lead

        await teacher.screenshot(path=screenshot_dir / "dashboard-30.png")
    finally:
        stop.set()
        await asyncio.gather(*students, return_exceptions=True)
    for task in students:
        assert task.exception() is None, task.exception()

    # Nobody connected now: a reloaded dashboard calls no stored point "now", and says when each one was.
    await teacher.reload()
    # Functions, not bare expressions: the page's Content-Security-Policy refuses to evaluate a string.
    await teacher.wait_for_function("() => document.getElementById('connection').dataset.status === 'open'")
    await teacher.wait_for_function(f"() => {count_of('offline')} == 30", timeout=SEEN_WITHIN_MS)
    summary = await teacher.text_content("#timeline-summary")
    assert "now" not in summary.replace("No student measured now", ""), summary
    assert "last stored point" in summary, summary

    await teacher.click("#lesson-end")
    await teacher.wait_for_selector("#attendance")
    await teacher.wait_for_selector("figure[data-metric='engagement'] canvas")
    came = await teacher.evaluate("document.querySelectorAll('#student-figures tbody tr').length")
    never = await teacher.evaluate("document.querySelectorAll('#attendance tr.never-came').length")
    assert (came, never) == (28, 2)
    alerts = await teacher.evaluate("document.querySelectorAll('#lesson-alerts li').length")
    assert alerts >= 3  # at least the faces lost by those who come and go
    await teacher.screenshot(path=screenshot_dir / "lesson-report.png", full_page=True)
    assert errors == []
    for picture in ("dashboard-30.png", "lesson-report.png"):
        assert (screenshot_dir / picture).stat().st_size > 20_000, f"{picture} looks empty"
