"""End to end in headless Chromium: a student streams a real face from a fake camera, a teacher watches.

Each test has its own students (browser_fixtures.STUDENTS), because the server keeps a student's
tracker for 30 s after their page closes. The server is a real Daphne process (`page_server`).
"""

import os
import re
import signal

import pytest
from browser_fixtures import log_in, open_page, tab_to

pytestmark = [pytest.mark.browser, pytest.mark.shared_data, pytest.mark.slow]

# Generous: the first frames also wait for the camera to start and the landmarker to load.
SEEN_WITHIN_MS = 30_000
PRESENT = ("focused", "happy")


def state_is(selector: str, states: tuple[str, ...]) -> str:
    """A wait_for_function body: true once the element's data-state is one of `states`."""
    return f"() => {list(states)!r}.includes(document.querySelector({selector!r})?.dataset.state)"


async def start_streaming(page, server, username: str) -> None:
    """Log in, open the class, consent, start the camera."""
    await log_in(page, server, username)
    await page.goto(f"{server.url}/class/{server.code}/")
    await page.click("#consent")
    await page.click("#start-camera")


async def card_of(teacher, username: str) -> str:
    """The dashboard card's selector for `username`, found through the members the page was given."""
    student_id = await teacher.evaluate(
        "(username) => JSON.parse(document.getElementById('dashboard-config').textContent)"
        ".members.find((member) => member.username === username).id",
        username,
    )
    return f"#cards [data-student-id='{student_id}']"


async def student_state(page) -> str:
    return await page.get_attribute("#state [data-state]", "data-state")


async def test_it_streams_a_real_face_to_the_student_and_the_teacher(page_server, launch_browser, face_camera):
    errors: list[str] = []
    teacher = await open_page(await launch_browser(), errors=errors)
    await log_in(teacher, page_server, page_server.teacher)
    await teacher.goto(f"{page_server.url}/teach/{page_server.code}/")

    student_browser = await launch_browser(camera=face_camera)
    student = await open_page(student_browser, errors=errors)
    await start_streaming(student, page_server, "ana")
    await student.wait_for_function(state_is("#state [data-state]", PRESENT), timeout=SEEN_WITHIN_MS)
    engagement = int(await student.text_content("#engagement"))
    assert 0 <= engagement <= 100
    assert re.fullmatch(r"\d+", (await student.text_content("#blinks")).strip())

    card = await card_of(teacher, "ana")
    await teacher.wait_for_function(state_is(card, PRESENT), timeout=SEEN_WITHIN_MS)
    assert 0 <= int(await teacher.text_content(f"{card} .card-engagement")) <= 100
    assert await teacher.get_attribute("#timeline", "data-chart") == "uplot"  # the npm package, from our server

    await student.close()  # the page goes away: its socket closes, and the teacher sees student.left
    await teacher.wait_for_function(state_is(card, ("offline",)), timeout=SEEN_WITHIN_MS)
    assert errors == []


async def test_it_shows_absent_on_both_pages_when_no_face_is_in_view(
    page_server, launch_browser, empty_room_camera
):
    teacher = await open_page(await launch_browser())
    await log_in(teacher, page_server, page_server.teacher)
    await teacher.goto(f"{page_server.url}/teach/{page_server.code}/")

    student = await open_page(await launch_browser(camera=empty_room_camera))
    await start_streaming(student, page_server, "ben")
    await student.wait_for_function(state_is("#state [data-state]", ("absent",)), timeout=SEEN_WITHIN_MS)
    assert "out of view" in (await student.text_content("#tip")).lower()

    await teacher.wait_for_function(state_is(await card_of(teacher, "ben"), ("absent",)), timeout=SEEN_WITHIN_MS)


async def test_it_shows_the_teacher_that_a_student_paused(page_server, launch_browser, face_camera):
    teacher = await open_page(await launch_browser())
    await log_in(teacher, page_server, page_server.teacher)
    await teacher.goto(f"{page_server.url}/teach/{page_server.code}/")

    student = await open_page(await launch_browser(camera=face_camera))
    await start_streaming(student, page_server, "cleo")
    await student.wait_for_function(state_is("#state [data-state]", PRESENT), timeout=SEEN_WITHIN_MS)
    await student.click("#pause")

    card = await card_of(teacher, "cleo")
    await teacher.wait_for_function(state_is(card, ("paused",)), timeout=SEEN_WITHIN_MS)
    assert await student_state(student) == "paused"
    assert "paused" in (await teacher.text_content(card)).lower()
    # Nothing is measured while paused: neither page shows the engagement of before as if it were now.
    assert (await student.text_content("#engagement"), await student.text_content("#blink-rate")) == ("–", "–")
    # Paused means nothing is sent: no feedback arrives for a second, but for the frame in flight at the click
    # (counted from when the pause showed: frames answered before the click, at 10 a second, are not the pause's).
    frames_before = int(await student.evaluate("document.body.dataset.frames"))
    await student.wait_for_timeout(1000)
    assert int(await student.evaluate("document.body.dataset.frames")) <= frames_before + 1


async def test_it_says_what_to_do_when_the_camera_is_blocked(page_server, launch_browser, face_camera):
    # No --use-fake-ui-for-media-stream: nobody answers the permission prompt, so the camera is refused.
    browser = await launch_browser()
    student = await open_page(browser)
    await start_streaming(student, page_server, "eli")
    await student.wait_for_function("() => document.querySelector('#camera-message').textContent.trim() !== ''")
    message = (await student.text_content("#camera-message")).lower()
    assert "camera" in message and ("allow" in message or "no camera" in message)


async def test_it_works_by_keyboard_alone_from_log_in_to_consent(page_server, launch_browser, face_camera):
    page = await open_page(await launch_browser(camera=face_camera))
    await page.goto(f"{page_server.url}/accounts/login/")
    await tab_to(page, "#id_username")
    await page.keyboard.type("sam")
    await page.keyboard.press("Tab")
    await page.keyboard.type(page_server.password)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{page_server.url}/")

    await tab_to(page, "#id_code")  # sam has not joined yet: the join form on the start page
    await page.keyboard.type(page_server.code.lower())
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{page_server.url}/class/{page_server.code}/")

    await tab_to(page, "#consent")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#start-camera:enabled")  # disabled until the page's script has loaded
    await tab_to(page, "#start-camera")
    await page.keyboard.press("Enter")
    await page.wait_for_function(state_is("#state [data-state]", PRESENT), timeout=SEEN_WITHIN_MS)
    await tab_to(page, "#pause")
    await page.keyboard.press("Enter")
    await page.wait_for_function(state_is("#state [data-state]", ("paused",)))


async def test_it_works_by_keyboard_alone_on_the_dashboard(page_server, launch_browser, face_camera):
    student = await open_page(await launch_browser(camera=face_camera))
    await start_streaming(student, page_server, "dev")

    teacher = await open_page(await launch_browser())
    await teacher.goto(f"{page_server.url}/accounts/login/")
    await tab_to(teacher, "#id_username")
    await teacher.keyboard.type(page_server.teacher)
    await teacher.keyboard.press("Tab")
    await teacher.keyboard.type(page_server.password)
    await teacher.keyboard.press("Enter")
    await teacher.wait_for_url(f"{page_server.url}/teach/")
    await tab_to(teacher, f"a[href='/teach/{page_server.code}/']")
    await teacher.keyboard.press("Enter")
    await teacher.wait_for_url(f"{page_server.url}/teach/{page_server.code}/")

    card = await card_of(teacher, "dev")
    await teacher.wait_for_function(state_is(card, PRESENT), timeout=SEEN_WITHIN_MS)
    await tab_to(teacher, f"{card} button.card-open", presses=60)
    await teacher.keyboard.press("Enter")
    await teacher.wait_for_selector("#student-detail[open]")
    assert "Dev" in await teacher.text_content("#student-detail")
    await teacher.keyboard.press("Escape")
    await teacher.wait_for_selector("#student-detail:not([open])", state="attached")
    # Focus goes back to where it was, so a keyboard user does not lose their place.
    assert await teacher.evaluate("(card) => document.querySelector(card).contains(document.activeElement)", card)


async def test_it_reconnects_after_a_server_restart_and_says_so(restartable_server, launch_browser, face_camera):
    daphne, server = restartable_server
    student = await open_page(await launch_browser(camera=face_camera))
    await start_streaming(student, server, "ana")
    await student.wait_for_function(state_is("#state [data-state]", PRESENT), timeout=SEEN_WITHIN_MS)

    daphne.stop()  # SIGTERM, as a deploy sends: the server closes the socket with 4503 "server_restarting"
    await student.wait_for_function("() => document.body.dataset.connection === 'lost'", timeout=SEEN_WITHIN_MS)
    said = (await student.text_content("#connection")).lower()
    assert "server is restarting" in said and "reconnecting" in said

    daphne.start()
    frames_before = int(await student.evaluate("document.body.dataset.frames"))
    await student.wait_for_function(
        f"() => Number(document.body.dataset.frames) > {frames_before} + 5", timeout=SEEN_WITHIN_MS
    )
    assert await student.evaluate("document.body.dataset.connection") == "open"
    assert await student_state(student) in PRESENT


async def test_it_says_connected_again_only_once_a_retry_is_answered(restartable_server, launch_browser, face_camera):
    daphne, server = restartable_server
    student = await open_page(await launch_browser(camera=face_camera))
    await start_streaming(student, server, "ana")
    await student.wait_for_function(state_is("#state [data-state]", PRESENT), timeout=SEEN_WITHIN_MS)
    await student.evaluate("""() => { window.statuses = [];
        new MutationObserver(() => statuses.push(document.body.dataset.connection))
            .observe(document.body, { attributes: true, attributeFilter: ["data-connection"] }); }""")

    # The database away when the server comes back: each retry is accepted, told the server cannot reach its
    # database, and closed (4503). None of them may say "Connected" on the way. (Stopped before the database goes:
    # a stop without it spends its whole 25 s trying to end the session.)
    daphne.stop()
    database = daphne.folder / "db.sqlite3"
    away = database.rename(daphne.folder / "db.sqlite3.away")
    daphne.start()
    try:
        await student.wait_for_function(
            "() => document.querySelector('#connection').textContent.includes('cannot reach its database')",
            timeout=SEEN_WITHIN_MS,
        )
        await student.wait_for_timeout(4000)  # further retries, each accepted and then closed
    finally:
        away.replace(database)
    assert "open" not in await student.evaluate("statuses")

    frames_before = int(await student.evaluate("document.body.dataset.frames"))
    await student.wait_for_function(
        f"() => Number(document.body.dataset.frames) > {frames_before} + 5", timeout=SEEN_WITHIN_MS
    )
    assert await student.evaluate("document.body.dataset.connection") == "open"


async def test_it_streams_on_the_pages_own_clock_and_encoder_when_its_workers_cannot_start(
    restartable_server, launch_browser, face_camera
):
    # A school filter or an old browser that will not run the page's two workers must not stop the stream: the page
    # then paces and encodes on its own thread, as it did before it had them.
    _, server = restartable_server
    student = await open_page(await launch_browser(camera=face_camera))
    await student.route(re.compile(r".*/(pacer|jpeg)-worker\.js$"), lambda route: route.abort())
    await start_streaming(student, server, "ben")
    await student.wait_for_function("() => Number(document.body.dataset.frames) > 10", timeout=SEEN_WITHIN_MS)
    await student.wait_for_function(state_is("#state [data-state]", PRESENT), timeout=SEEN_WITHIN_MS)


async def test_it_gives_up_on_a_connection_that_went_silent_and_reconnects(
    restartable_server, launch_browser, face_camera
):
    daphne, server = restartable_server
    student = await open_page(await launch_browser(camera=face_camera))
    await start_streaming(student, server, "ana")
    await student.wait_for_function(state_is("#state [data-state]", PRESENT), timeout=SEEN_WITHIN_MS)

    # The real server stops answering and closes nothing, as a connection that died on the way looks to a page:
    # its TCP connection stays open, so only the page's own watch can tell.
    os.kill(daphne.process.pid, signal.SIGSTOP)
    try:
        await student.wait_for_function("() => document.body.dataset.connection === 'lost'", timeout=SEEN_WITHIN_MS)
        assert "server stopped answering" in (await student.text_content("#connection")).lower()
        assert await student.text_content("#engagement") == "–"  # no figure shown as live any more
        assert await student_state(student) == "offline"
    finally:
        os.kill(daphne.process.pid, signal.SIGCONT)

    frames_before = int(await student.evaluate("document.body.dataset.frames"))
    await student.wait_for_function(
        f"() => Number(document.body.dataset.frames) > {frames_before} + 5", timeout=SEEN_WITHIN_MS
    )
    assert await student.evaluate("document.body.dataset.connection") == "open"


async def test_it_sends_no_frozen_picture_while_the_camera_gives_none(restartable_server, launch_browser, face_camera):
    daphne, server = restartable_server
    student = await open_page(await launch_browser(camera=face_camera))
    await start_streaming(student, server, "ana")
    await student.wait_for_function(state_is("#state [data-state]", PRESENT), timeout=SEEN_WITHIN_MS)

    # A closed laptop lid or the system lending the camera to another app mutes its track, and the <video> keeps
    # showing the last picture. Chromium's fake camera never mutes, so the test raises the event on the page's real
    # track, as the browser would.
    track = "document.getElementById('preview').srcObject.getVideoTracks()[0]"
    await student.evaluate(f"{track}.dispatchEvent(new Event('mute'))")
    await student.wait_for_function(
        "() => document.querySelector('#camera-message').textContent.includes('no picture')"
    )
    assert await student.text_content("#engagement") == "–"
    frames = int(await student.evaluate("document.body.dataset.frames"))
    await student.wait_for_timeout(2000)
    # At most the frame already in flight is answered: at 10 fps, 20 would have been.
    assert int(await student.evaluate("document.body.dataset.frames")) <= frames + 1
    assert await student_state(student) == "waiting"

    await student.evaluate(f"{track}.dispatchEvent(new Event('unmute'))")
    await student.wait_for_function(
        f"() => Number(document.body.dataset.frames) > {frames} + 5", timeout=SEEN_WITHIN_MS
    )
    assert await student.text_content("#camera-message") == ""
    await student.wait_for_function(state_is("#state [data-state]", PRESENT), timeout=SEEN_WITHIN_MS)


async def test_it_hides_the_students_own_picture_on_request_and_remembers_it(
    restartable_server, launch_browser, face_camera
):
    daphne, server = restartable_server
    student = await open_page(await launch_browser(camera=face_camera))
    placeholder = "#preview-placeholder-text"
    await start_streaming(student, server, "ana")
    await student.wait_for_function(state_is("#state [data-state]", PRESENT), timeout=SEEN_WITHIN_MS)
    assert await student.text_content(placeholder) == ""
    assert await student.get_attribute("#preview-frame", "data-camera") == "on"

    await student.click("#toggle-preview")
    assert await student.get_attribute("#toggle-preview", "aria-pressed") == "false"
    assert "preview-hidden" in await student.get_attribute("#preview-frame", "class")
    assert await student.text_content(placeholder) == "Your picture is hidden; the camera is on"
    await student.click("#pause")
    assert await student.text_content(placeholder) == "Paused: the camera is off"

    # The choice is this device's: it holds after a reload, before the camera starts.
    await student.reload()
    assert await student.get_attribute("#toggle-preview", "aria-pressed") == "false"
    assert await student.text_content(placeholder) == "Camera is off"
    await student.click("#toggle-preview")
    assert await student.get_attribute("#toggle-preview", "aria-pressed") == "true"
    assert "preview-hidden" not in await student.get_attribute("#preview-frame", "class")


async def test_it_keeps_the_dashboard_going_across_a_server_restart(restartable_server, launch_browser, face_camera):
    daphne, server = restartable_server
    teacher = await open_page(await launch_browser())
    await log_in(teacher, server, server.teacher)
    await teacher.goto(f"{server.url}/teach/{server.code}/")
    await teacher.wait_for_function("() => document.querySelector('#connection').dataset.status === 'open'")

    daphne.stop()
    await teacher.wait_for_function(
        "() => document.querySelector('#connection').dataset.status === 'reconnecting'", timeout=SEEN_WITHIN_MS
    )
    assert "server is restarting" in (await teacher.text_content("#connection")).lower()
    daphne.start()
    # Back, with a fresh snapshot: a student who streams now shows up live.
    await teacher.wait_for_function(
        "() => document.querySelector('#connection').dataset.status === 'open'", timeout=SEEN_WITHIN_MS
    )
    student = await open_page(await launch_browser(camera=face_camera))
    await start_streaming(student, server, "ben")
    await teacher.wait_for_function(state_is(await card_of(teacher, "ben"), PRESENT), timeout=SEEN_WITHIN_MS)


async def test_it_tells_the_teacher_when_the_dashboards_connection_goes_silent(restartable_server, launch_browser):
    daphne, server = restartable_server
    teacher = await open_page(await launch_browser())
    await log_in(teacher, server, server.teacher)
    await teacher.goto(f"{server.url}/teach/{server.code}/")
    await teacher.wait_for_function("() => document.querySelector('#connection').dataset.status === 'open'")

    # Nobody streams, so the server has nothing to send: only the page's own pings can show that the connection
    # died. The real server stops answering and closes nothing, as a connection that died on the way looks.
    os.kill(daphne.process.pid, signal.SIGSTOP)
    try:
        await teacher.wait_for_function(
            "() => document.querySelector('#connection').dataset.status === 'reconnecting'", timeout=SEEN_WITHIN_MS
        )
        assert "server stopped answering" in (await teacher.text_content("#connection")).lower()
        assert "is-stale" in await teacher.get_attribute("#cards", "class")
    finally:
        os.kill(daphne.process.pid, signal.SIGCONT)
    await teacher.wait_for_function(
        "() => document.querySelector('#connection').dataset.status === 'open'", timeout=SEEN_WITHIN_MS
    )
