"""The student page follows the server's fair share: a saturated server's feedback names each student's equal
share (fair_fps, docs/protocol.md), and the page sends no faster than that, nor faster than its own cap."""

import pytest
from browser_fixtures import log_in, open_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]


async def test_it_paces_frames_by_the_fair_share_and_its_own_cap(page_server, launch_browser):
    page = await open_page(await launch_browser())
    await log_in(page, page_server, "sam")  # any page of ours: the module is the page's own, served as it is
    gaps = await page.evaluate("""async () => {
        const { FrameSender } = await import("/static/js/student/frame-sender.js");
        const sender = new FrameSender({ maxFps: 10, camera: null, socket: null, canSend: () => false });
        const gaps = [sender.minGapMs];
        for (const share of [2, null, 25, 4.5]) {
            sender.answered(share);
            gaps.push(Math.round(sender.minGapMs));
        }
        return gaps;
    }""")
    # The cap (10 fps), a share of 2 fps, no share (the cap again), a share above the cap, a share of 4.5 fps.
    assert gaps == [100, 500, 100, 100, 222]
