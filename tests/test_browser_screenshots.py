"""The pictures in the README, taken from a real class: `make screenshots` saves them to docs/screenshots/.

Run as part of the suite too (into a temporary folder), so the pages they show keep working.
"""

from pathlib import Path

import pytest
from browser_fixtures import log_in, open_page
from test_browser_pages import PRESENT, SEEN_WITHIN_MS, card_of, start_streaming, state_is

pytestmark = [pytest.mark.browser, pytest.mark.shared_data, pytest.mark.slow]


@pytest.fixture
def screenshot_dir(request, tmp_path) -> Path:
    folder = Path(request.config.getoption("--screenshots") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def test_it_takes_the_student_page_and_the_dashboard(
    request, page_server, launch_browser, face_camera, empty_room_camera, screenshot_dir
):
    focused = await open_page(await launch_browser(camera=face_camera))
    await start_streaming(focused, page_server, "fay")
    absent = await open_page(await launch_browser(camera=empty_room_camera))
    await start_streaming(absent, page_server, "gus")
    paused = await open_page(await launch_browser(camera=face_camera))
    await start_streaming(paused, page_server, "hal")
    await paused.wait_for_function(state_is("#state [data-state]", PRESENT), timeout=SEEN_WITHIN_MS)
    await paused.click("#pause")

    teacher = await open_page(await launch_browser())
    await log_in(teacher, page_server, page_server.teacher)
    await teacher.goto(f"{page_server.url}/teach/{page_server.code}/")
    for username, states in (("fay", PRESENT), ("gus", ("absent",)), ("hal", ("paused",))):
        await teacher.wait_for_function(state_is(await card_of(teacher, username), states), timeout=SEEN_WITHIN_MS)
    # Some stream, so blink counts, the timeline (a point every 5 s) and the alerts have something to show;
    # longer for the README's pictures than for the check in the suite.
    await focused.wait_for_timeout(20_000 if request.config.getoption("--screenshots") else 6000)

    student_png = screenshot_dir / "student.png"
    dashboard_png = screenshot_dir / "dashboard.png"
    await focused.screenshot(path=student_png, full_page=True)
    await teacher.screenshot(path=dashboard_png, full_page=True)

    # The recorder has written Fay's first samples by now: her session's charts, drawn by uPlot.
    await teacher.goto(f"{page_server.url}/teach/{page_server.code}/history/")
    await teacher.click("tr:has-text('Fay') a[href^='/history/']")
    await teacher.wait_for_selector("figure[data-metric='engagement'] canvas")
    session_png = screenshot_dir / "session.png"
    await teacher.screenshot(path=session_png, full_page=True)
    for picture in (student_png, dashboard_png, session_png):
        assert picture.stat().st_size > 20_000, f"{picture} looks empty"
