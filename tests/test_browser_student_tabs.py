"""A student page opened twice: the newer tab takes the stream over (4409), the older says so and stays quiet.

docs/protocol.md: "replaced" is final, so two tabs never take turns reconnecting; the student picks the tab.
"""

import pytest
from browser_fixtures import log_in, open_page
from playwright.async_api import TimeoutError as PlaywrightTimeout

pytestmark = [pytest.mark.browser, pytest.mark.shared_data, pytest.mark.slow]

SEEN_WITHIN_MS = 30_000
PRESENT = "() => ['focused', 'happy'].includes(document.querySelector('#state [data-state]')?.dataset.state)"
# Longer than the first two retries of the backoff (1 s and 2 s, +-20 %): a page that retried would have by then.
QUIET_MS = 4_000


async def open_class(page, server):
    sockets = []
    page.on("websocket", lambda socket: sockets.append(socket))
    await page.goto(f"{server.url}/class/{server.code}/")
    return sockets


async def wait_until_refused(page, tabs: dict) -> None:
    """Waits for `page` to say another tab took over; if it never does, fails saying where every tab stood.

    tabs: name -> (page, the sockets it opened)."""
    try:
        await page.wait_for_function("() => document.body.dataset.connection === 'refused'", timeout=SEEN_WITHIN_MS)
    except PlaywrightTimeout:
        where = {name: (await tab.evaluate("() => ({...document.body.dataset})"), len(sockets))
                 for name, (tab, sockets) in tabs.items()}
        pytest.fail(f"the tab was never refused; each tab's (page state, sockets opened): {where}")


async def test_it_hands_the_stream_to_the_newer_tab_and_back_on_request(page_server, launch_browser, face_camera):
    first = await open_page(await launch_browser(camera=face_camera))
    await log_in(first, page_server, "kit")
    await first.goto(f"{page_server.url}/class/{page_server.code}/")
    await first.click("#consent")
    first_sockets = []
    first.on("websocket", lambda socket: first_sockets.append(socket))
    await first.click("#start-camera")
    await first.wait_for_function(PRESENT, timeout=SEEN_WITHIN_MS)

    second = await first.context.new_page()  # the same student, same cookies: another tab
    second_sockets = await open_class(second, page_server)
    await second.click("#start-camera")
    await second.wait_for_function(PRESENT, timeout=SEEN_WITHIN_MS)

    tabs = {"first": (first, first_sockets), "second": (second, second_sockets)}
    await wait_until_refused(first, tabs)
    assert "another tab" in (await first.text_content("#connection")).lower()
    assert await first.evaluate("document.body.dataset.camera") == "off"  # the other tab has the camera now
    await first.wait_for_timeout(QUIET_MS)
    assert len(first_sockets) == 1, "the replaced tab must not reconnect by itself"
    assert await first.evaluate("document.body.dataset.connection") == "refused"

    frames = int(await first.evaluate("document.body.dataset.frames"))
    await first.click("#use-this-tab")
    await first.wait_for_function(f"() => Number(document.body.dataset.frames) > {frames} + 3", timeout=SEEN_WITHIN_MS)
    assert len(first_sockets) == 2
    await wait_until_refused(second, tabs)
    assert "another tab" in (await second.text_content("#connection")).lower()
    assert len(second_sockets) == 1
