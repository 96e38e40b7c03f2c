"""Keeps MediaPipe's native start-up chatter out of our output, unless SMARTSESSION_MEDIAPIPE_LOGS=1.

Creating a landmarker makes MediaPipe's C++ code print lines like
`W0000 ... face_landmarker_graph.cc:181] Sets FaceBlendshapesGraph acceleration to xnnpack by default.` and
`INFO: Created TensorFlow Lite XNNPACK delegate for CPU.` straight to file descriptor 2. A newcomer reads them as
errors. GLOG_minloglevel and TF_CPP_MIN_LOG_LEVEL do not silence this build (absl logging), so while a landmarker
is created, fd 2 points at an in-memory file; afterwards every captured line that is not known chatter (a log
line another thread wrote meanwhile, a real MediaPipe error) is written to the real stderr, so nothing is lost.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SHOW_ENV_VAR = "SMARTSESSION_MEDIAPIPE_LOGS"
# glog/absl lines at INFO or WARNING level (E/F are errors and pass), and TensorFlow Lite's own INFO lines.
CHATTER = re.compile(
    rb"^(?:[IW]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] .*"
    rb"|INFO: Created TensorFlow Lite .*"
    rb"|WARNING: Logging before InitGoogle\(\) is written to STDERR)$"
)
# One landmarker is created at a time: fd 2 is shared by the whole process.
_lock = threading.Lock()


def showing_native_logs() -> bool:
    return os.environ.get(SHOW_ENV_VAR, "").strip() == "1"


def without_chatter(captured: bytes) -> bytes:
    """The captured bytes less MediaPipe's known start-up lines."""
    kept = [line for line in captured.splitlines(keepends=True) if not CHATTER.match(line.rstrip(b"\r\n"))]
    return b"".join(kept)


def _memory_file():
    # In memory where the platform allows (Linux), so nothing another thread logs meanwhile touches the disk.
    if hasattr(os, "memfd_create"):
        return os.fdopen(os.memfd_create("mediapipe-stderr"), "w+b")
    return tempfile.TemporaryFile()


@contextmanager
def native_chatter_silenced() -> Iterator[None]:
    """Runs the block with fd 2 captured, then writes back whatever was not MediaPipe's start-up chatter."""
    if showing_native_logs():
        yield
        return
    with _lock, _memory_file() as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            rest = without_chatter(capture.read())
            if rest:
                os.write(2, rest)
