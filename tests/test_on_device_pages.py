"""On-device analysis as the pages set it up: the teacher's setting, what students are told, the policy, the files.

The browser side (the model running in the page, fallbacks, agreement) is tests/test_browser_on_device.py.
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

from classroom.services import classroom_set_analysis
from vision.measurements import BLENDSHAPE_NAMES
from vision.model import MODEL_SHA256, load_model_bytes

pytestmark = pytest.mark.django_db


def student_config(response) -> dict:
    page = response.content.decode()
    start = page.index('id="student-config" type="application/json">') + len('id="student-config" type="application/json">')
    return json.loads(page[start : page.index("</script>", start)])


def test_it_lets_the_teacher_turn_on_device_analysis_on_and_off(client, teacher, classroom):
    client.force_login(teacher)
    page = client.get(f"/teach/{classroom.join_code}/settings/").content.decode()
    assert "no picture leaves the student" in page.lower() and "never a basis for grading" in page

    response = client.post(f"/teach/{classroom.join_code}/settings/", {"analysis": "device"}, follow=True)
    classroom.refresh_from_db()
    assert (classroom.on_device, classroom.frame_fallback) == (True, False)  # an unticked box is off
    assert "analysed on the students&#x27; devices only" in response.content.decode()

    client.post(f"/teach/{classroom.join_code}/settings/", {"analysis": "device", "frame_fallback": "on"})
    classroom.refresh_from_db()
    assert (classroom.on_device, classroom.frame_fallback) == (True, True)

    client.post(f"/teach/{classroom.join_code}/settings/", {"analysis": "server", "frame_fallback": "on"})
    classroom.refresh_from_db()
    assert classroom.on_device is False


def test_it_refuses_a_setting_it_cannot_read(client, teacher, classroom):
    client.force_login(teacher)
    assert client.post(f"/teach/{classroom.join_code}/settings/", {"analysis": "elsewhere"}).status_code == 400
    classroom.refresh_from_db()
    assert classroom.on_device is False


def test_only_the_class_teacher_changes_it(client, other_teacher, classroom):
    client.force_login(other_teacher)
    assert client.post(f"/teach/{classroom.join_code}/settings/", {"analysis": "device"}).status_code == 403
    classroom.refresh_from_db()
    assert classroom.on_device is False


def test_the_consent_step_says_where_faces_are_analysed(client, other_student, classroom):
    from classroom.services import classroom_join

    classroom_join(student=other_student, code=classroom.join_code)
    client.force_login(other_student)
    on_server = client.get(f"/class/{classroom.join_code}/").content.decode()
    assert "sends a small picture from your camera" in on_server and "No picture leaves your device" not in on_server

    classroom_set_analysis(classroom=classroom, on_device=True, frame_fallback=False)
    on_device = client.get(f"/class/{classroom.join_code}/").content.decode()
    assert "No picture leaves your device" in on_device and "sends a small picture" not in on_device


def test_only_an_on_device_class_page_may_compile_webassembly(client, student, classroom):
    client.force_login(student)
    frames = client.get(f"/class/{classroom.join_code}/")
    assert "wasm-unsafe-eval" not in frames["Content-Security-Policy"]
    assert student_config(frames)["analysis"] == {"onDevice": False, "frameFallback": True}

    classroom_set_analysis(classroom=classroom, on_device=True, frame_fallback=True)
    device = client.get(f"/class/{classroom.join_code}/")
    policy = device["Content-Security-Policy"]
    assert "script-src 'self' 'wasm-unsafe-eval';" in policy
    # Everything else is the site's policy, unchanged: no eval, no inline script, sockets and fetches to us only.
    assert policy.replace(" 'wasm-unsafe-eval'", "") == settings.CONTENT_SECURITY_POLICY
    assert "unsafe-eval'" not in policy.replace("wasm-unsafe-eval", "") and "connect-src 'self';" in policy
    assert "wasm-unsafe-eval" not in client.get("/history/")["Content-Security-Policy"]

    analysis = student_config(device)["analysis"]
    assert analysis["message"]["blendshapes"] == list(BLENDSHAPE_NAMES)
    assert analysis["runtime"]["model"] == "/face-model/face_landmarker.task"
    for files in (analysis["runtime"]["simd"], analysis["runtime"]["noSimd"]):
        for url in files.values():
            assert finders.find(url.removeprefix(settings.STATIC_URL)), url


def test_it_serves_the_verified_face_model_with_its_checksum_as_etag(client, student):
    assert client.get("/face-model/face_landmarker.task").status_code == 302  # to the login page

    client.force_login(student)
    response = client.get("/face-model/face_landmarker.task")
    assert response.status_code == 200 and response.content == load_model_bytes()
    assert response["ETag"] == f'"{MODEL_SHA256}"' and "max-age" in response["Cache-Control"]
    again = client.get("/face-model/face_landmarker.task", HTTP_IF_NONE_MATCH=f'"{MODEL_SHA256}"')
    assert again.status_code == 304 and again.content == b""


def test_it_serves_only_the_runtime_files_the_page_needs():
    found = finders.find("vendor/tasks-vision/vision_bundle.mjs")
    if not found:
        pytest.skip("the npm packages are not installed (make setup runs npm ci)")
    listed = sorted(path for finder in finders.get_finders() for path, _ in finder.list([])
                    if path.startswith(("vision_", "wasm/")))
    assert listed == ["vision_bundle.mjs", "wasm/vision_wasm_internal.js", "wasm/vision_wasm_internal.wasm",
                      "wasm/vision_wasm_nosimd_internal.js", "wasm/vision_wasm_nosimd_internal.wasm"]
    assert not finders.find("vendor/tasks-vision/vision_bundle.js")  # names a source map the package lacks
