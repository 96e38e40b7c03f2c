"""A student who opens the lesson's slides in another tab keeps streaming at the page's pace.

In a background tab Chromium fires the page's own timers, canvas.toBlob and OffscreenCanvas.convertToBlob at most
once a second (after a 10 s grace), which is too slow to see a blink. Playwright keeps every page it drives in the
foreground, so this test starts Chromium itself with its DevTools port: Playwright sets the page up and lets go,
then a new tab is brought to the front over the DevTools HTTP endpoint and the student's page is read over the
DevTools protocol, which leaves it in the background.
"""

import asyncio
import json
import subprocess
import time
import urllib.request

import pytest
import websockets
from browser_fixtures import CHROMIUM_ARGS, free_port, log_in, stop_process

pytestmark = [pytest.mark.browser, pytest.mark.shared_data, pytest.mark.slow]

SEEN_WITHIN_MS = 30_000
# Chromium throttles a background tab after this grace, so the count starts well after it.
THROTTLED_AFTER_S = 10
MEASURED_S = 6
# The page sends at most 10 a second (SMARTSESSION_MAX_FPS); throttled, it managed one a second.
AT_LEAST_PER_S = 4


class DevTools:
    """Chromium's DevTools HTTP endpoint and protocol, without Playwright's hold on the pages."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str, method: str = "GET"):
        with urllib.request.urlopen(urllib.request.Request(f"{self.base}{path}", method=method), timeout=10) as answer:
            body = answer.read()
        return json.loads(body) if body.lstrip()[:1] in (b"{", b"[") else body

    def wait_until_up(self) -> None:
        for _ in range(100):
            try:
                self.get("/json/version")
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("Chromium's DevTools endpoint never answered (its output: chromium.log)")

    async def evaluate(self, target: dict, expression: str):
        async with websockets.connect(target["webSocketDebuggerUrl"], max_size=None) as socket:
            await socket.send(json.dumps({"id": 1, "method": "Runtime.evaluate",
                                          "params": {"expression": expression, "returnByValue": True}}))
            while True:
                answer = json.loads(await socket.recv())
                if answer.get("id") == 1:
                    return answer["result"]["result"].get("value")


@pytest.fixture
def chromium_with_devtools(chromium_executable, face_camera, tmp_path):
    port = free_port()
    # --no-sandbox as Playwright's own launch passes it: Chromium's sandbox refuses to run as root, as CI does.
    log = (tmp_path / "chromium.log").open("wb")
    process = subprocess.Popen(
        [chromium_executable, "--headless=new", "--no-sandbox", f"--remote-debugging-port={port}",
         f"--user-data-dir={tmp_path / 'profile'}", *CHROMIUM_ARGS, "--use-fake-ui-for-media-stream",
         "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={face_camera}", "about:blank"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()
    devtools = DevTools(port)
    try:
        devtools.wait_until_up()
        yield devtools
    finally:
        stop_process(process)


async def test_a_student_page_in_a_background_tab_keeps_sending_at_its_pace(restartable_server,
                                                                            chromium_with_devtools):
    from playwright.async_api import async_playwright

    _, server = restartable_server
    devtools = chromium_with_devtools
    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(devtools.base)
        page = browser.contexts[0].pages[0]
        await log_in(page, server, "ana")
        await page.goto(f"{server.url}/class/{server.code}/")
        await page.click("#consent")
        await page.click("#start-camera")
        await page.wait_for_function("() => Number(document.body.dataset.frames) > 10", timeout=SEEN_WITHIN_MS)
        await browser.close()  # lets go of the page and leaves Chromium running

    [student] = [target for target in devtools.get("/json/list") if "/class/" in target.get("url", "")]
    slides = devtools.get("/json/new?about:blank", method="PUT")
    devtools.get(f"/json/activate/{slides['id']}")
    await asyncio.sleep(1)
    assert await devtools.evaluate(student, "document.visibilityState") == "hidden"

    await asyncio.sleep(THROTTLED_AFTER_S)
    answered_before = await devtools.evaluate(student, "Number(document.body.dataset.frames)")
    await asyncio.sleep(MEASURED_S)
    answered = await devtools.evaluate(student, "Number(document.body.dataset.frames)") - answered_before
    assert answered >= AT_LEAST_PER_S * MEASURED_S, f"{answered} frames answered in {MEASURED_S} s in the background"
    assert await devtools.evaluate(student, "document.querySelector('#state [data-state]').dataset.state") in (
        "focused", "happy")
