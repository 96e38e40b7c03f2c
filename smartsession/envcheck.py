"""Checks that the virtualenv is the one the lock files describe; `make setup` runs it after installing.

Run as `python -m smartsession.envcheck [LOCK ...]` (default: requirements.txt, the runtime lock; `make test`
adds requirements-dev.txt): prints what is wrong and exits 1, or prints one OK line.
It imports no Django, so it works before migrations and settings matter.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import sys
from pathlib import Path

from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = REPO_ROOT / "requirements.txt"
DEV_REQUIREMENTS = REPO_ROOT / "requirements-dev.txt"
MINIMUM_PYTHON = (3, 11)
HEADLESS_OPENCV = "opencv-python-headless"
# The other OpenCV wheels on PyPI. All four install the same cv2 folder, so a second one silently
# replaces our files; the GUI builds also need X11/GL libraries that servers and CI lack.
OTHER_OPENCV = ("opencv-python", "opencv-contrib-python", "opencv-contrib-python-headless")
FIX = "Delete .venv and run `make setup` again; install packages only with --no-deps from the lock files."


def pinned_requirements(path: Path = REQUIREMENTS) -> dict[str, str]:
    """Canonical package name -> pinned version, from the `name==version` lines of the lock."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s#]+)", line)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def _installed_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def opencv_problems() -> list[str]:
    problems = [
        f"{name} {_installed_version(name)} is installed; SmartSession uses only {HEADLESS_OPENCV}. {FIX}"
        for name in OTHER_OPENCV
        if _installed_version(name) is not None
    ]
    if _installed_version(HEADLESS_OPENCV) is None:
        problems.append(f"{HEADLESS_OPENCV} is not installed. {FIX}")
        return problems
    try:
        cv2 = importlib.import_module("cv2")
    except ImportError as error:
        problems.append(f"`import cv2` fails: {error}. {FIX}")
        return problems
    expected = Path(str(importlib.metadata.distribution(HEADLESS_OPENCV).locate_file("cv2/__init__.py"))).resolve()
    if Path(cv2.__file__).resolve() != expected:
        problems.append(f"`import cv2` loads {cv2.__file__}, not {HEADLESS_OPENCV}'s {expected}. {FIX}")
    return problems


def pin_problems(pins: dict[str, str]) -> list[str]:
    problems = []
    for name, wanted in sorted(pins.items()):
        installed = _installed_version(name)
        if installed != wanted:
            problems.append(f"{name}=={wanted} is pinned but {installed or 'nothing'} is installed. {FIX}")
    return problems


def problems(locks: list[Path] | None = None) -> list[str]:
    found = []
    if sys.version_info < MINIMUM_PYTHON:
        found.append(f"Python {'.'.join(map(str, MINIMUM_PYTHON))} or newer is needed; this is {sys.version.split()[0]}.")
    pins: dict[str, str] = {}
    for lock in locks or [REQUIREMENTS]:
        pins.update(pinned_requirements(lock))
    found += pin_problems(pins)
    found += opencv_problems()
    return found


def main(argv: list[str] | None = None) -> int:
    locks = [Path(name) for name in (sys.argv[1:] if argv is None else argv)] or [REQUIREMENTS]
    found = problems(locks)
    names = " and ".join(lock.name for lock in locks)
    if found:
        print(f"The virtualenv is not what {names} describes:", file=sys.stderr)
        for problem in found:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    cv2 = importlib.import_module("cv2")
    print(f"Environment OK: Python {sys.version.split()[0]}, OpenCV {cv2.__version__} ({HEADLESS_OPENCV}), all pins of {names} installed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
