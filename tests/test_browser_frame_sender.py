"""The student page's frame sender survives a frame it cannot make: a capture that throws (the face model's
WebAssembly failing, a canvas that cannot encode) is logged and the next frame is tried, and a source that keeps
failing is told so once (on-device analysis then hands over to frames: tests/test_browser_on_device.py)."""

import pytest
from browser_fixtures import log_in, open_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# A FrameSender fed by `source`, on a socket that answers every message at once. Plain objects stand in for the
# camera and the socket: only the sender's own rules are under test.
START_SENDER = """
async function startSender(source) {
  const { FrameSender } = await import("/static/js/student/frame-sender.js");
  const sent = [];
  const socket = {
    bufferedAmount: 0,
    send(message) {
      sent.push(message.byteLength);
      setTimeout(() => sender.answered(), 0);
      return true;
    },
  };
  const sender = new FrameSender({ maxFps: 30, camera: { ready: true, video: null }, socket, canSend: () => true });
  sender.use(source);
  sender.schedule();
  return { sender, sent };
}
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
"""


def with_sender(body: str) -> str:
    """A function for page.evaluate that runs `body` with startSender() and pause() defined."""
    return f"async () => {{{START_SENDER}{body}}}"


@pytest.fixture
async def page_and_warnings(page_server, launch_browser):
    """A page of ours (the modules are the page's own, served as they are) and the warnings it logs."""
    page = await open_page(await launch_browser())
    await log_in(page, page_server, "sam")
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text) if message.type == "warning" else None)
    return page, warnings


async def test_a_capture_that_throws_is_logged_and_the_next_frame_goes(page_and_warnings):
    page, warnings = page_and_warnings
    result = await page.evaluate(with_sender("""
        let captures = 0;
        const told = [];
        const source = {
          capture() {
            captures += 1;
            if (captures === 2 || captures === 3) throw new Error("memory access out of bounds");
            return new ArrayBuffer(20);
          },
          keepsFailing: (error) => told.push(String(error)),
        };
        const { sender, sent } = await startSender(source);
        await pause(600);
        sender.stop();
        return { captures, sent: sent.length, told };
    """))
    assert result["captures"] >= 6 and result["sent"] == result["captures"] - 2, result
    assert result["told"] == [], "two failures are two lost frames, not a source that keeps failing"
    logged = [text for text in warnings if "no message from this frame" in text]
    assert len(logged) == 2 and all("memory access out of bounds" in text for text in logged), warnings


async def test_a_source_that_keeps_failing_is_told_once_and_the_stream_goes_on_with_another(page_and_warnings):
    page, warnings = page_and_warnings
    result = await page.evaluate(with_sender("""
        const { FAILURES_BEFORE_GIVING_UP } = await import("/static/js/student/frame-sender.js");
        let failed = 0;
        let told = 0;
        let sender;
        const frames = { capture: () => new ArrayBuffer(3004) };
        const broken = {
          capture() {
            failed += 1;
            throw new DOMException("The source image could not be decoded.", "InvalidStateError");
          },
          keepsFailing() {
            told += 1;
            sender.use(frames);  // as the page does: another source takes over
          },
        };
        const started = await startSender(broken);
        sender = started.sender;
        await pause(800);
        sender.stop();
        return { limit: FAILURES_BEFORE_GIVING_UP, failed, told, sent: started.sent };
    """))
    assert result["failed"] == result["limit"] and result["told"] == 1, result
    assert len(result["sent"]) >= 5 and set(result["sent"]) == {3004}, result
    assert len([text for text in warnings if "InvalidStateError" in text]) == result["limit"], warnings
