"""End to end in headless Chromium: what the teacher sees of a smile, in a class that reads expressions.

The camera plays person 025 of the shared London faces, whose resting mouth scores 0.5 on the face model's own
smile: a population threshold would call her happy at rest. The teacher's detail panel shows what decides instead,
her smile over her own resting face.
"""

import pytest
from browser_fixtures import log_in, open_page, write_y4m

pytestmark = [pytest.mark.browser, pytest.mark.shared_data, pytest.mark.slow]

SEEN_WITHIN_MS = 30_000
CAMERA_FPS = 10
RESTING_S, SMILING_S = 6, 4
SMILE_METRIC = """() => [...document.querySelectorAll('#student-detail dt')]
  .find((label) => label.textContent.startsWith('Smile over their resting face'))?.nextElementSibling.textContent"""


@pytest.fixture(scope="module")
def resting_then_smiling_camera(shared_testdata, tmp_path_factory):
    """025's neutral photo, then her smiling one, as a 640x480 webcam would frame them (looped by Chromium)."""
    import cv2

    def webcam_frame(name):
        bgr = cv2.imread(str(shared_testdata / "london_faces" / name))
        height, width = bgr.shape[:2]
        keep = width * 3 // 4
        top = (height - keep) // 2
        return cv2.cvtColor(cv2.resize(bgr[top : top + keep], (640, 480)), cv2.COLOR_BGR2RGB)

    frames = ([webcam_frame("neutral_front/025_03.jpg")] * (RESTING_S * CAMERA_FPS)
              + [webcam_frame("smiling_front/025_08.jpg")] * (SMILING_S * CAMERA_FPS))
    return write_y4m(frames, tmp_path_factory.mktemp("camera") / "025.y4m", fps=CAMERA_FPS)


async def test_the_teacher_sees_her_smile_over_her_own_resting_face(
    restartable_server, launch_browser, resting_then_smiling_camera
):
    daphne, server = restartable_server
    daphne.run_script("from classroom.models import Classroom\n"
                      "Classroom.objects.update(expressions=True)\nprint('ok')")
    teacher = await open_page(await launch_browser())
    await log_in(teacher, server, "tess")
    await teacher.goto(f"{server.url}/teach/{server.code}/")

    student = await open_page(await launch_browser(camera=resting_then_smiling_camera))
    await log_in(student, server, "ana")
    await student.goto(f"{server.url}/class/{server.code}/")
    await student.click("#consent")
    await student.click("#start-camera")

    card = "#cards [data-student-id]"
    await teacher.wait_for_function(f"() => document.querySelector({card!r})?.dataset.state === 'focused'",
                                    timeout=SEEN_WITHIN_MS)
    await teacher.click(f"{card} .card-open")
    await teacher.wait_for_function(SMILE_METRIC, timeout=SEEN_WITHIN_MS)
    at_rest, _ = (await teacher.evaluate(SMILE_METRIC)).split(";")
    assert float(at_rest) < 0.3  # her resting mouth is her own zero, though the face model's smile reads 0.5

    await teacher.wait_for_function(f"() => document.querySelector({card!r})?.dataset.state === 'happy'",
                                    timeout=SEEN_WITHIN_MS)
    smiling, confusion = (await teacher.evaluate(SMILE_METRIC)).split(";")
    assert float(smiling) >= 1.0 and 0.0 <= float(confusion) <= 1.0
