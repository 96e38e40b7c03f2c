"""On-device analysis in real Chromium: the face model runs in the page, and no picture crosses the socket.

The runtime (npm's @mediapipe/tasks-vision) and the model come from our own server, as they would in a school.
The agreement test is the browser half of tests/test_on_device_agreement.py: the same frames of real clips through
the in-browser model and through the server's own, each feeding a StudentTracker.

Numbers (model load time, ms per frame, bytes per message) are printed, never asserted: run with -s to see them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import statistics

import cv2
import numpy as np
import pytest
from browser_fixtures import PASSWORD, Daphne, PageServer, log_in, open_page

pytestmark = [pytest.mark.browser, pytest.mark.shared_data, pytest.mark.slow]

SEEN_WITHIN_MS = 60_000  # the first measurement also waits for 17 MB to load and the model to start
PRESENT = "() => ['focused', 'happy'].includes(document.querySelector('#state [data-state]')?.dataset.state)"
IMAGE_MAGIC = {b"\xff\xd8\xff": "JPEG", b"\x89PNG": "PNG", b"RIFF": "WebP"}

SETUP_SCRIPT = """
from django.contrib.auth.models import Group, User
from classroom.services import classroom_create, classroom_join, classroom_set_analysis, membership_consent
teacher = User.objects.create_user("tess", password="{password}", first_name="Tess")
teacher.groups.add(Group.objects.get_or_create(name="teachers")[0])
codes = {{}}
for name, on_device, fallback, students in (
    ("switch", False, True, ["kim"]),
    ("fallback", True, True, ["lee", "ned"]),
    ("device_only", True, False, ["max"]),
    ("changes", True, True, ["oli"]),
):
    classroom = classroom_create(teacher=teacher, name=name)
    if on_device:
        classroom_set_analysis(classroom=classroom, on_device=True, frame_fallback=fallback)
    for username in students:
        student = User.objects.create_user(username, password="{password}", first_name=username.title())
        membership = classroom_join(student=student, code=classroom.join_code)
        if username != "kim":  # kim consents on the page, which says where the class analyses faces
            membership_consent(membership=membership)
    codes[name] = classroom.join_code
import json
print(json.dumps(codes))
"""


@pytest.fixture(scope="module")
def device_server(chromium_executable, tmp_path_factory):
    daphne = Daphne(tmp_path_factory.mktemp("on-device-server"))
    codes = json.loads(daphne.run_script(SETUP_SCRIPT.format(password=PASSWORD)))
    with daphne:
        yield daphne, codes


def server_of(daphne) -> PageServer:
    """What log_in needs of a server; these tests name each class's code themselves."""
    return PageServer(url=daphne.url, code="")


def record_binary_messages(page) -> list[bytes]:
    """Every binary message the page sends on any of its sockets, as sent."""
    sent: list[bytes] = []

    def watch(socket):
        socket.on("framesent", lambda payload: sent.append(payload) if isinstance(payload, bytes) else None)

    page.on("websocket", watch)
    return sent


def kinds(messages: list[bytes]) -> set[str]:
    found = set()
    for message in messages:
        found.add(next((kind for magic, kind in IMAGE_MAGIC.items() if message.startswith(magic)), message[:4].decode(
            "latin-1")))
    return found


async def test_it_streams_measurements_and_never_a_picture(device_server, launch_browser, face_camera):
    daphne, codes = device_server
    server, code = server_of(daphne), codes["switch"]
    teacher = await open_page(await launch_browser())
    await log_in(teacher, server, "tess")
    await teacher.goto(f"{server.url}/teach/{code}/settings/")
    assert "never a basis for grading" in await teacher.text_content("section[aria-labelledby=analysis-heading]")
    await teacher.check("input[name=analysis][value=device]")
    await teacher.click("#save-analysis")
    assert "on the student's device" in await teacher.text_content("#analysis-heading")
    await teacher.goto(f"{server.url}/teach/{code}/")

    errors: list[str] = []
    student = await open_page(await launch_browser(camera=face_camera), errors=errors)
    sent = record_binary_messages(student)
    await log_in(student, server, "kim")
    await student.goto(f"{server.url}/class/{code}/")
    assert "No picture leaves your device" in await student.text_content("main")
    await student.click("#consent")
    await student.click("#start-camera")
    await student.wait_for_function(PRESENT, timeout=SEEN_WITHIN_MS)
    assert await student.evaluate("document.body.dataset.analysis") == "device"
    assert "no picture leaves it" in (await student.text_content("#analysis-status")).lower()

    student_id = await teacher.evaluate(
        "JSON.parse(document.getElementById('dashboard-config').textContent).members.find((m) => m.username === 'kim').id"
    )
    card = f"#cards [data-student-id='{student_id}']"
    await teacher.wait_for_function(
        f"() => ['focused', 'happy'].includes(document.querySelector({card!r})?.dataset.state)", timeout=SEEN_WITHIN_MS
    )
    frames = int(await student.evaluate("document.body.dataset.frames"))
    await student.wait_for_function(f"() => Number(document.body.dataset.frames) >= {frames} + 10")

    assert sent, "no binary message was sent"
    assert kinds(sent) == {"SSM1"}, f"binary messages other than measurements crossed the socket: {kinds(sent)}"
    sizes = sorted({len(message) for message in sent})
    assert set(sizes) <= {20, 3004}, sizes
    print(f"\non-device stream: {len(sent)} binary messages, all SSM1, sizes {sizes} bytes; model loaded in "
          f"{await student.evaluate('document.body.dataset.modelLoadMs')} ms")
    assert errors == []
    # And the server's own record: this session's faces were analysed on the device only, never from a frame.
    assert await session_analysis(daphne, "kim") == "device"


async def session_analysis(daphne, username: str) -> str:
    script = ("from sessions_app.models import Session; "
              f"print(Session.objects.filter(student__username={username!r}).latest('started_at').analysis)")
    return await asyncio.to_thread(daphne.run_script, script)


@pytest.mark.parametrize("class_name, username", [("fallback", "lee"), ("device_only", "max")])
async def test_a_device_without_webassembly_says_so_and_falls_back_only_where_allowed(
    device_server, launch_browser, face_camera, class_name, username
):
    daphne, codes = device_server
    server = server_of(daphne)
    student = await open_page(await launch_browser(camera=face_camera))
    await student.context.add_init_script("delete globalThis.WebAssembly;")
    sent = record_binary_messages(student)
    sockets = []
    student.on("websocket", lambda socket: sockets.append(socket))
    await log_in(student, server, username)
    await student.goto(f"{server.url}/class/{codes[class_name]}/")
    await student.wait_for_function("() => ['frames', 'none'].includes(document.body.dataset.analysis)")
    status = await student.text_content("#analysis-status")
    assert "cannot analyse your face itself" in status and "WebAssembly" in status

    if class_name == "fallback":
        assert await student.evaluate("document.body.dataset.analysis") == "frames"
        assert "go to the server" in status
        await student.click("#start-camera")
        await student.wait_for_function(PRESENT, timeout=SEEN_WITHIN_MS)
        assert kinds(sent) == {"JPEG"}
        assert await session_analysis(daphne, username) == "server"
    else:
        assert await student.evaluate("document.body.dataset.analysis") == "none"
        assert "nothing is sent" in status
        assert await student.is_disabled("#start-camera")
        assert "Nothing is analysed on this page" in await student.text_content("#state-help")
        await student.wait_for_timeout(1000)
        assert sockets == [] and sent == []  # not even a socket: nothing of this student reaches the server


async def test_the_browser_writes_the_measurement_byte_for_byte_as_python_does(device_server, launch_browser):
    from vision.measurements import BLENDSHAPE_NAMES, read_measurement, write_measurement

    daphne, codes = device_server
    page = await open_page(await launch_browser())
    await log_in(page, server_of(daphne), "ned")
    await page.goto(f"{daphne.url}/class/{codes['fallback']}/")

    generator = np.random.default_rng(13)
    landmarks = generator.uniform(-0.6, 1.6, size=(478, 3))
    landmarks[:, 2] = generator.uniform(-1.1, 1.1, size=478)  # a few out of range on every axis: clipped alike
    landmarks[0] = (-0.5, 1.5, 0.0)
    blendshapes = {name: float(score) for name, score in zip(BLENDSHAPE_NAMES, generator.uniform(0, 1, 52))}
    blendshapes["_neutral"] = 0.5  # 127.5: halves go to the even neighbour in both
    blendshapes["browDownLeft"] = 2.5 / 255
    angle = np.radians(20)
    matrix = np.array([[np.cos(angle), 0, np.sin(angle), 1.25], [0, 1, 0, -3.5],
                       [-np.sin(angle), 0, np.cos(angle), -42.123456789], [0, 0, 0, 1]])
    for brightness, faces in ((2.5, 2), (3.5, 1), (300.0, 1), (87.25, 1)):
        fields = dict(capture_ms=123456.789, width=640, height=360, faces=faces, brightness=brightness)
        expected = write_measurement(**fields, landmarks=landmarks, blendshapes=blendshapes, matrix=matrix)
        written = await page.evaluate(
            """async ([layout, fields, face]) => {
                const { encodeMeasurement } = await import("/static/js/student/measurement.js");
                const landmarks = face.landmarks.map(([x, y, z]) => ({ x, y, z }));
                const message = encodeMeasurement(layout, { ...fields, face: { ...face, landmarks } });
                return Array.from(new Uint8Array(message));
            }""",
            [
                await page.evaluate("JSON.parse(document.getElementById('student-config').textContent).analysis.message"),
                {"captureMs": fields["capture_ms"], "width": 640, "height": 360, "faces": faces,
                 "brightness": brightness},
                {"landmarks": landmarks.tolist(), "blendshapes": blendshapes, "matrix": matrix.reshape(16).tolist()},
            ],
        )
        assert bytes(written) == expected, f"brightness {brightness}"
        capture_ms, analysis = read_measurement(bytes(written))
        assert capture_ms == fields["capture_ms"] and analysis.faces == faces

    empty = await page.evaluate(
        """async (layout) => {
            const { encodeMeasurement } = await import("/static/js/student/measurement.js");
            return Array.from(new Uint8Array(encodeMeasurement(layout,
                { captureMs: 5.5, width: 320, height: 240, faces: 0, brightness: 0, face: null })));
        }""",
        await page.evaluate("JSON.parse(document.getElementById('student-config').textContent).analysis.message"),
    )
    assert bytes(empty) == write_measurement(capture_ms=5.5, width=320, height=240, faces=0, brightness=0)


# Two shared ZJU clips at their full 30 fps: a man facing the camera, a woman filmed from below. Each costs about
# 10 s on a busy 2-core machine; the server half (test_on_device_agreement.py) covers all 40.
AGREEMENT_CLIPS = ("zju_eyeblink/2", "zju_eyeblink/75")

MEASURE_CLIP = """async ([frames, settings]) => {
  const { loadFaceAnalyser } = await import("/static/js/student/on-device.js");
  const analyser = await loadFaceAnalyser(settings);
  const messages = [];
  const durations = [];
  for (const [captureMs, png] of frames) {
    const bytes = Uint8Array.from(atob(png), (char) => char.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }),
                                           { colorSpaceConversion: "none", premultiplyAlpha: "none" });
    const started = performance.now();
    const message = analyser.measure(bitmap, bitmap.width, bitmap.height, captureMs);
    durations.push(performance.now() - started);
    bitmap.close();
    let text = "";
    for (const byte of new Uint8Array(message)) text += String.fromCharCode(byte);
    messages.push(btoa(text));
  }
  const loadMs = analyser.loadMs;
  analyser.close();
  return { messages, durations, loadMs };
}"""


def _agreement(server_analyses, device_analyses) -> dict:
    from vision.media import analyze_frames
    from vision.tracker import StudentTracker

    server, _ = analyze_frames(server_analyses, None, StudentTracker())
    device, _ = analyze_frames(device_analyses, None, StudentTracker())
    both = [(a.status, b.status) for a, b in zip(server, device) if a.status.face and b.status.face]
    return {
        "blinks": (server[-1].status.blinks, device[-1].status.blinks),
        "same_state": sum(a.status.state == b.status.state for a, b in zip(server, device)) / len(server),
        "pose_diff_deg": max(sum(abs(getattr(a, axis) - getattr(b, axis)) for a, b in both) / len(both)
                             for axis in ("yaw", "pitch", "roll")),
        "ear_diff": sum(abs(a.ear - b.ear) for a, b in both) / len(both),
        "faces_found": (sum(a.status.face for a in server), sum(b.status.face for b in device), len(server)),
    }


async def test_the_browser_model_agrees_with_the_server_on_real_clips(
    device_server, launch_browser, shared_testdata, analyzer
):
    from vision.evaluate import VIDEO_SUFFIXES
    from vision.measurements import read_measurement
    from vision.media import read_frames

    daphne, codes = device_server
    page = await open_page(await launch_browser())
    await log_in(page, server_of(daphne), "ned")
    await page.goto(f"{daphne.url}/class/{codes['fallback']}/")
    settings = await page.evaluate("JSON.parse(document.getElementById('student-config').textContent).analysis")

    durations, load_ms, sizes = [], [], []
    for clip in AGREEMENT_CLIPS:
        folder = shared_testdata / clip
        video = next(path for path in sorted(folder.iterdir()) if path.suffix.lower() in VIDEO_SUFFIXES)
        frames = list(read_frames(video))
        server_analyses = [(index, t, analyzer.analyze(rgb)) for index, t, rgb in frames]
        pngs = [[t * 1000.0, base64.b64encode(cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1]).decode()]
                for _, t, rgb in frames]
        measured = await page.evaluate(MEASURE_CLIP, [pngs, settings])
        messages = [base64.b64decode(message) for message in measured["messages"]]
        device_analyses = [(index, t, read_measurement(message)[1])
                           for (index, t, _), message in zip(frames, messages)]
        result = _agreement(server_analyses, device_analyses)
        print(f"\n{clip}: {result}")
        server_blinks, device_blinks = result["blinks"]
        assert abs(server_blinks - device_blinks) <= 1, (clip, result)
        assert result["same_state"] >= 0.95, (clip, result)
        assert result["pose_diff_deg"] <= 2.0 and result["ear_diff"] <= 0.01, (clip, result)
        durations += measured["durations"][3:]  # the first calls set the runtime up
        load_ms.append(measured["loadMs"])
        sizes += [len(message) for message in messages]
    print(f"\nin-browser model: loaded in {statistics.median(load_ms):.0f} ms (median of {len(load_ms)}), "
          f"median {statistics.median(durations):.1f} ms a frame over {len(durations)} frames; "
          f"messages {statistics.mean(sizes):.0f} bytes on average")


async def test_the_face_model_reports_nothing_to_google(device_server, launch_browser):
    """tasks-vision sends usage figures to Google (its README's privacy notice): the policy blocks them, and the
    page does not even try."""
    import browser_fixtures

    daphne, codes = device_server
    page = await open_page(await launch_browser())
    await log_in(page, server_of(daphne), "ned")
    await page.goto(f"{daphne.url}/class/{codes['fallback']}/")
    await page.wait_for_function("() => document.body.dataset.analysis === 'device'", timeout=SEEN_WITHIN_MS)
    settings = await page.evaluate("JSON.parse(document.getElementById('student-config').textContent).analysis")

    # Made the package's own way, a landmarker reports when it closes; the Content-Security-Policy stops it.
    await page.evaluate(
        """async (settings) => {
            const vision = await import(settings.runtime.module);
            const landmarker = await vision.FaceLandmarker.createFromOptions(settings.runtime.simd,
                { baseOptions: { modelAssetPath: settings.runtime.model, delegate: "CPU" }, runningMode: "VIDEO" });
            landmarker.close();
        }""",
        settings,
    )
    report = "connect-src blocked https://odml.pa.googleapis.com/v1/log"
    for _ in range(50):
        if any(found.startswith(report) for found in browser_fixtures.csp_violations):
            break
        await page.wait_for_timeout(100)
    assert [found for found in browser_fixtures.csp_violations if found.startswith(report)], \
        browser_fixtures.csp_violations
    browser_fixtures.csp_violations.clear()

    # Ours (on-device.js) stops the reporter: closing it, after a few frames, tries to send nothing at all.
    await page.evaluate(
        """async (settings) => {
            const { loadFaceAnalyser } = await import("/static/js/student/on-device.js");
            const analyser = await loadFaceAnalyser(settings);
            const canvas = Object.assign(document.createElement("canvas"), { width: 320, height: 240 });
            for (let frame = 0; frame < 5; frame += 1) analyser.measure(canvas, 320, 240, frame * 100);
            analyser.close();
        }""",
        settings,
    )
    await page.wait_for_timeout(1500)
    assert browser_fixtures.csp_violations == []


async def measuring_in_a_class_with_fallback(device_server, launch_browser, face_camera):
    """A student of the class that falls back to frames, streaming measurements: (their page, what it sent)."""
    daphne, codes = device_server
    student = await open_page(await launch_browser(camera=face_camera))
    sent = record_binary_messages(student)
    await log_in(student, server_of(daphne), "ned")
    await student.goto(f"{daphne.url}/class/{codes['fallback']}/")
    await student.click("#start-camera")
    await student.wait_for_function(PRESENT, timeout=SEEN_WITHIN_MS)
    assert kinds(sent) == {"SSM1"}
    return student, sent


async def test_a_device_too_slow_for_the_model_says_so_and_sends_frames(device_server, launch_browser, face_camera):
    student, sent = await measuring_in_a_class_with_fallback(device_server, launch_browser, face_camera)

    # Chromium's own CPU throttling, as DevTools offers it: the model now takes far longer than 200 ms a frame.
    cdp = await student.context.new_cdp_session(student)
    await cdp.send("Emulation.setCPUThrottlingRate", {"rate": 30})
    await student.wait_for_function("() => document.body.dataset.analysis === 'frames'", timeout=SEEN_WITHIN_MS)
    await cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    assert "fewer than 5 pictures a second" in await student.text_content("#analysis-status")
    measured = len(sent)
    frames = int(await student.evaluate("document.body.dataset.frames"))
    await student.wait_for_function(f"() => Number(document.body.dataset.frames) >= {frames} + 5",
                                    timeout=SEEN_WITHIN_MS)
    assert kinds(sent[measured:]) == {"JPEG"}


async def test_a_face_model_that_keeps_failing_says_so_and_sends_frames(device_server, launch_browser, face_camera):
    student, sent = await measuring_in_a_class_with_fallback(device_server, launch_browser, face_camera)

    # From now on the model's WebAssembly fails on every frame, as a trap or running out of memory would. The page's
    # runtime is this same module (one module per URL), so the landmarker it made fails too.
    await student.evaluate("""async () => {
        const { runtime } = JSON.parse(document.getElementById("student-config").textContent).analysis;
        const vision = await import(runtime.module);
        vision.FaceLandmarker.prototype.detectForVideo = () => {
            throw new WebAssembly.RuntimeError("unreachable");
        };
    }""")
    await student.wait_for_function("() => document.body.dataset.analysis === 'frames'", timeout=SEEN_WITHIN_MS)
    said = await student.text_content("#analysis-status")
    assert "cannot analyse your face itself" in said and "keeps failing" in said
    measured = len(sent)
    frames = int(await student.evaluate("document.body.dataset.frames"))
    await student.wait_for_function(f"() => Number(document.body.dataset.frames) >= {frames} + 5",
                                    timeout=SEEN_WITHIN_MS)
    assert kinds(sent[measured:]) == {"JPEG"}


async def test_a_model_download_that_stalls_is_given_up_and_the_page_sends_frames(
    device_server, launch_browser, face_camera
):
    daphne, codes = device_server
    server, code = server_of(daphne), codes["fallback"]
    student = await open_page(await launch_browser(camera=face_camera))
    sent = record_binary_messages(student)
    await log_in(student, server, "lee")

    # The model's request is never answered, as behind a captive portal.
    stalled = []
    await student.route(f"{server.url}/face-model/**", lambda route: stalled.append(route.request.url))
    # The page's stall time, 30 s, is cut to 5 s in the page's own settings once the page is parsed, before its
    # scripts run (a page rewritten by the test's route would lose its local address, and with it the socket).
    await student.add_init_script("""document.addEventListener("readystatechange", () => {
        const settings = document.getElementById("student-config");
        if (document.readyState !== "interactive" || !settings) return;
        const config = JSON.parse(settings.textContent);
        if (config.analysis.downloadStallMs !== 30000) throw new Error("the stall time is no longer 30 s");
        config.analysis.downloadStallMs = 5000;
        settings.textContent = JSON.stringify(config);
    });""")
    await student.goto(f"{server.url}/class/{code}/")
    await student.wait_for_function("() => document.body.dataset.analysis === 'frames'", timeout=SEEN_WITHIN_MS)
    assert stalled, "the model was never requested"
    said = await student.text_content("#analysis-status")
    assert "face model could not be loaded: the download stopped (nothing arrived for 5 s)" in said
    assert "go to the server" in said and await student.is_visible("#analysis-status a:text('Reload the page')")

    await student.click("#start-camera")
    await student.wait_for_function(PRESENT, timeout=SEEN_WITHIN_MS)
    assert kinds(sent) == {"JPEG"}


async def test_a_page_never_switches_to_pictures_by_itself_when_the_teacher_changes_the_mode(
    device_server, launch_browser, face_camera
):
    daphne, codes = device_server
    server, code = server_of(daphne), codes["changes"]
    student = await open_page(await launch_browser(camera=face_camera))
    sent = record_binary_messages(student)
    await log_in(student, server, "oli")
    await student.goto(f"{server.url}/class/{code}/")
    await student.click("#start-camera")
    await student.wait_for_function(PRESENT, timeout=SEEN_WITHIN_MS)

    teacher = await open_page(await launch_browser())
    await log_in(teacher, server, "tess")
    await teacher.goto(f"{server.url}/teach/{code}/settings/")
    await teacher.check("input[name=analysis][value=server]")
    await teacher.click("#save-analysis")  # reaches the stream in progress: measurements are now refused

    await student.wait_for_function("() => document.body.dataset.analysis === 'none'", timeout=SEEN_WITHIN_MS)
    assert "Reload the page" in await student.text_content("#analysis-status")
    assert await student.evaluate("document.body.dataset.camera") == "off"
    await student.wait_for_timeout(1000)
    assert kinds(sent) == {"SSM1"}, "the page must not start sending pictures before the student has read why"
