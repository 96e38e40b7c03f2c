"""Every page through axe-core (WCAG 2 A and AA rules) in Chromium, with live data on the screen.

axe-core comes from npm (a devDependency) and is injected by the test; the pages never load it.
"""

from pathlib import Path

import pytest
from browser_fixtures import REPO_ROOT, log_in, open_page
from test_browser_pages import PRESENT, SEEN_WITHIN_MS, card_of, start_streaming, state_is

pytestmark = [pytest.mark.browser, pytest.mark.shared_data, pytest.mark.slow]

AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


async def violations(page) -> list[str]:
    """axe's findings on the page as it is now, one line each: rule, impact and the first offending element."""
    # Evaluated through the browser's devtools channel: a <script> tag would be (rightly) refused by the CSP.
    await page.evaluate(AXE.read_text())
    result = await page.evaluate("(rules) => axe.run(document, rules)", RULES)
    return [
        f"{found['id']} ({found['impact']}): {found['nodes'][0]['target']} {found['help']}"
        for found in result["violations"]
    ]


@pytest.fixture(scope="module")
def axe_installed() -> Path:
    if not AXE.is_file():
        pytest.skip("axe-core is not installed: run make setup with Node.js 18+ (npm ci)")
    return AXE


async def test_it_finds_no_wcag_violations_on_the_student_pages(
    page_server, launch_browser, face_camera, axe_installed
):
    page = await open_page(await launch_browser(camera=face_camera))
    await page.goto(f"{page_server.url}/join/{page_server.code}/")
    assert await violations(page) == [], "join link, not logged in"
    await page.goto(f"{page_server.url}/signup/?code={page_server.code}")
    assert await violations(page) == [], "sign up"
    await page.goto(f"{page_server.url}/accounts/login/")
    assert await violations(page) == [], "log in"
    await log_in(page, page_server, "ivy")
    assert await violations(page) == [], "my classes"
    await page.goto(f"{page_server.url}/class/{page_server.code}/")
    assert await violations(page) == [], "consent"
    await page.click("#consent")
    await page.click("#start-camera")
    await page.wait_for_function(state_is("#state [data-state]", PRESENT), timeout=SEEN_WITHIN_MS)
    assert await violations(page) == [], "class page, streaming"
    await page.click("#pause")
    assert await violations(page) == [], "class page, paused"
    await page.goto(f"{page_server.url}/history/")
    assert await violations(page) == [], "my history"


async def test_it_finds_no_wcag_violations_on_the_teacher_pages(
    page_server, launch_browser, face_camera, axe_installed
):
    student = await open_page(await launch_browser(camera=face_camera))
    await start_streaming(student, page_server, "jo")

    teacher = await open_page(await launch_browser())
    await log_in(teacher, page_server, page_server.teacher)
    assert await violations(teacher) == [], "my classes"
    await teacher.goto(f"{page_server.url}/teach/{page_server.code}/")
    await teacher.wait_for_function(state_is(await card_of(teacher, "jo"), PRESENT), timeout=SEEN_WITHIN_MS)
    assert await violations(teacher) == [], "dashboard, live"
    await teacher.click(f"{await card_of(teacher, 'jo')} button")
    await teacher.wait_for_selector("#student-detail[open]")
    assert await violations(teacher) == [], "dashboard, student detail open"
    await teacher.keyboard.press("Escape")
    await teacher.goto(f"{page_server.url}/teach/{page_server.code}/settings/")
    assert await violations(teacher) == [], "settings"
    await teacher.goto(f"{page_server.url}/teach/{page_server.code}/history/")
    assert await violations(teacher) == [], "class history"
    await teacher.click("tbody a[href^='/history/']")
    await teacher.wait_for_load_state()
    assert await violations(teacher) == [], "session page"
    await teacher.goto(f"{page_server.url}/teach/{page_server.code}/history/")
    await teacher.click("#lessons a[href^='/lessons/']")
    await teacher.wait_for_selector("#attendance")
    assert await violations(teacher) == [], "lesson report"
    await teacher.goto(f"{page_server.url}/teach/{page_server.code}/students/")
    assert await violations(teacher) == [], "students, join link and QR code"
    await teacher.goto(f"{page_server.url}/teach/{page_server.code}/settings/expressions/")
    assert await violations(teacher) == [], "turning expressions on"


async def test_it_would_report_a_violation(page_server, launch_browser, axe_installed):
    # The check above means something only if axe does find problems on our pages: add one and look.
    page = await open_page(await launch_browser())
    await page.goto(f"{page_server.url}/accounts/login/")
    await page.evaluate("document.querySelector('form').append(document.createElement('input'))")
    assert any(found.startswith("label ") for found in await violations(page))
