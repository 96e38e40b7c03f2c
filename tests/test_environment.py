"""The virtualenv is the lock: headless OpenCV only, every pin installed (smartsession/envcheck.py)."""

import importlib.metadata
import subprocess
import sys
from pathlib import Path

from smartsession import envcheck

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_it_runs_on_headless_opencv_only():
    assert envcheck.opencv_problems() == []
    for name in ("opencv-python", "opencv-contrib-python"):
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        raise AssertionError(f"{name} is installed")


def test_it_has_every_pinned_package_installed():
    pins = envcheck.pinned_requirements()
    assert pins["django"] == "5.2.19"
    assert "opencv-contrib-python" not in pins and "sounddevice" not in pins
    assert envcheck.pin_problems(pins) == []


def test_it_reports_a_package_that_differs_from_its_pin(tmp_path):
    lock = tmp_path / "requirements.txt"
    lock.write_text("Django==0.0.1  # a pin nobody installed\nnot-a-real-package-here==1.0\n")
    problems = envcheck.pin_problems(envcheck.pinned_requirements(lock))
    assert any("django==0.0.1 is pinned but 5.2.19 is installed" in problem for problem in problems)
    assert any("not-a-real-package-here==1.0 is pinned but nothing is installed" in problem for problem in problems)


def test_it_passes_the_check_make_setup_runs():
    result = subprocess.run(
        [sys.executable, "-m", "smartsession.envcheck"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Environment OK" in result.stdout
