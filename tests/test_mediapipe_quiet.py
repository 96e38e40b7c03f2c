"""MediaPipe's native start-up chatter stays out of our output unless asked for (vision/quiet.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vision.quiet import without_chatter

REPO_ROOT = Path(__file__).resolve().parent.parent
# A landmarker is created quietly; a line another part of the process writes while fd 2 is captured still
# comes out.
CREATE_AND_LOG = """
import sys
from vision.face import FaceAnalyzer
from vision.quiet import native_chatter_silenced
with FaceAnalyzer():
    pass
with native_chatter_silenced():
    print("a log line written meanwhile", file=sys.stderr, flush=True)
print("created")
"""


def run_python(*args: str, **env: str) -> subprocess.CompletedProcess:
    run_env = {key: value for key, value in os.environ.items() if key != "SMARTSESSION_MEDIAPIPE_LOGS"}
    run_env.update(env, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=run_env, capture_output=True, text=True,
                          timeout=120)


def test_it_keeps_the_start_up_chatter_out_and_other_lines_in():
    result = run_python("-c", CREATE_AND_LOG)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "created"
    assert result.stderr.strip() == "a log line written meanwhile"


def test_it_shows_the_chatter_when_asked():
    result = run_python("-c", CREATE_AND_LOG, SMARTSESSION_MEDIAPIPE_LOGS="1")
    assert result.returncode == 0, result.stderr
    assert "face_landmarker_graph.cc" in result.stderr
    assert "a log line written meanwhile" in result.stderr


@pytest.mark.shared_data
def test_it_keeps_the_cli_quiet(shared_testdata):
    result = run_python("-m", "vision", "analyze", str(shared_testdata / "pyfeat" / "single_face.mp4"))
    assert result.returncode == 0, result.stderr
    assert "frames, face in" in result.stdout
    assert result.stderr == ""


def test_it_lets_errors_through():
    captured = (
        b"WARNING: Logging before InitGoogle() is written to STDERR\n"
        b"W0000 00:00:1796132583.167603   17858 face_landmarker_graph.cc:181] Sets acceleration to xnnpack.\n"
        b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"
        b"I0000 00:00:1796132583.2   17862 gl_context.cc:369] GL version: 3.2\n"
        b"E0000 00:00:1796132583.3   17862 calculator_graph.cc:887] INVALID_ARGUMENT: the model is broken\n"
        b"Traceback (most recent call last):\n"
    )
    assert without_chatter(captured) == (
        b"E0000 00:00:1796132583.3   17862 calculator_graph.cc:887] INVALID_ARGUMENT: the model is broken\n"
        b"Traceback (most recent call last):\n"
    )
