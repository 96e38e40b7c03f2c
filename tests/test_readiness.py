"""/healthz is cheap; /readyz checks the database, the channel layer and the face model (smartsession/health.py)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# Nothing listens on port 1 here: a real connection attempt that is refused at once.
DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.mark.django_db
def test_it_is_ready_when_every_part_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready", "checks": {"database": "ok", "channel_layer": "ok", "face_model": "ok"}
    }
    assert client.head("/readyz").status_code == 200
    assert client.post("/readyz").status_code == 405


@pytest.mark.django_db
def test_it_names_the_channel_layer_when_redis_does_not_answer(client, settings, caplog):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "classroom.layers.ResilientRedisChannelLayer", "CONFIG": {"hosts": [DEAD_REDIS]}}
    }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    with caplog.at_level(logging.WARNING, logger="smartsession.readiness"):
        first, second = client.get("/readyz"), client.get("/readyz")
    assert first.status_code == second.status_code == 503
    assert first.json()["failing"] == ["channel_layer"]
    assert first.json()["checks"]["database"] == "ok"
    assert "127.0.0.1:1" not in first.content.decode()  # details go to the log, not to the public
    failures = [record for record in caplog.records if record.name == "smartsession.readiness"]
    assert len(failures) == 1 and "channel_layer failing" in failures[0].getMessage()


@pytest.mark.django_db
def test_it_names_the_face_model_when_the_file_is_wrong(client, monkeypatch, tmp_path):
    wrong = tmp_path / "face_landmarker.task"
    wrong.write_bytes(b"not the model")
    monkeypatch.setenv("SMARTSESSION_FACE_MODEL", str(wrong))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["face_model"]


# A production-like process whose database is down: liveness still answers (and over plain HTTP, as a local
# probe asks, while pages redirect to HTTPS), readiness names the database.
PROBE = """
import asyncio, json
from channels.testing import HttpCommunicator
from smartsession.asgi import application

async def get(path):
    response = await HttpCommunicator(application, "GET", path, headers=[(b"host", b"localhost")]).get_response(10)
    return response["status"], response["body"].decode()

print(json.dumps({path: asyncio.run(get(path)) for path in ("/healthz", "/readyz", "/accounts/login/")}))
"""


def test_it_names_the_database_when_it_is_down_and_stays_alive():
    env = {"PATH": os.environ["PATH"], "DEBUG": "0", "SECRET_KEY": "test-only-key",
           "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert answers["/healthz"] == [200, '{"status": "ok"}']
    status, body = answers["/readyz"]
    assert status == 503 and json.loads(body)["failing"] == ["database"]
    assert answers["/accounts/login/"][0] == 301
