"""Two real Daphne processes sharing Redis: a student on one, the teacher on the other, over real sockets."""

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from browser_fixtures import free_port, wait_until_serving
from websockets.asyncio.client import connect

pytestmark = [pytest.mark.redis, pytest.mark.shared_data, pytest.mark.slow]
REPO_ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "two-servers-test"

SETUP = """
from django.contrib.auth.models import Group, User
from classroom.services import classroom_create, classroom_join, membership_consent
teacher = User.objects.create_user("tina", password="{password}")
teacher.groups.add(Group.objects.get_or_create(name="teachers")[0])
student = User.objects.create_user("sam", password="{password}")
classroom = classroom_create(teacher=teacher, name="Two servers", expressions=True)
membership_consent(membership=classroom_join(student=student, code=classroom.join_code))
print(classroom.join_code)
"""


def token(port: int, username: str) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/auth/token/",
        data=json.dumps({"username": username, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["token"]


@pytest.fixture
def two_servers(tmp_path, redis_url):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": redis_url,
           "DEBUG": "1", "VISION_WORKERS": "1"}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], cwd=REPO_ROOT, env=env, check=True)
    created = subprocess.run([*manage, "shell", "-c", SETUP.format(password=PASSWORD)], cwd=REPO_ROOT, env=env,
                             check=True, capture_output=True, text=True)
    code = created.stdout.strip().splitlines()[-1]
    ports = [free_port(), free_port()]
    daphne = str(Path(sys.executable).parent / "daphne")
    servers = [
        subprocess.Popen([daphne, "-b", "127.0.0.1", "-p", str(port), "smartsession.asgi:application"],
                         cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in ports
    ]
    try:
        for port, server in zip(ports, servers):
            wait_until_serving(f"http://127.0.0.1:{port}/healthz", server, Path("(not kept)"))
        yield code, ports, env
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            # Daphne exits in well under a second here; a loaded machine can stretch that, and how fast it
            # stops is not what this test is about.
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


async def next_of(socket_, kind: str, timeout: float = 20) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(socket_.recv(), timeout))
        if message["type"] == kind:
            return message


def open_socket(port: int, path: str, key: str):
    return connect(f"ws://127.0.0.1:{port}{path}", origin=f"http://127.0.0.1:{port}",
                   additional_headers={"Authorization": f"Token {key}"}, proxy=None)


async def test_it_shows_a_student_on_one_server_to_a_teacher_on_the_other(two_servers, face_frames):
    code, (student_port, teacher_port), _ = two_servers
    student_key, teacher_key = token(student_port, "sam"), token(teacher_port, "tina")

    async with open_socket(student_port, f"/ws/student/{code}/", student_key) as pupil:
        await pupil.send(face_frames[0][1])
        assert (await next_of(pupil, "feedback"))["face"] is True

        async with open_socket(teacher_port, f"/ws/teacher/{code}/", teacher_key) as watcher:
            snapshot = await next_of(watcher, "snapshot")
            assert [entry["username"] for entry in snapshot["students"]] == ["sam"]
            assert snapshot["students"][0]["state"] == "focused"

            for _, frame in face_frames[1:10]:
                await pupil.send(frame)
                await next_of(pupil, "feedback")
            update = await next_of(watcher, "student.update")
            assert update["student"]["username"] == "sam" and update["student"]["face"] is True

            await pupil.close()
            left = await next_of(watcher, "student.left")
            assert left["student"]["username"] == "sam"


GO_EXPRESSION_FREE = """
from classroom.models import Classroom
from classroom.services import classroom_set_expressions
classroom_set_expressions(classroom=Classroom.objects.get(join_code="{code}"), expressions=False)
"""


async def test_it_brings_a_teachers_change_to_a_stream_on_another_process(two_servers, face_frames):
    code, (student_port, _), env = two_servers
    async with open_socket(student_port, f"/ws/student/{code}/", token(student_port, "sam")) as pupil:
        await pupil.send(face_frames[0][1])
        assert (await next_of(pupil, "feedback"))["expression"] is not None
        # A third process saves the change, as a teacher's page on any server would; Redis carries it.
        await asyncio.to_thread(subprocess.run, [sys.executable, "manage.py", "shell", "-c",
                                                 GO_EXPRESSION_FREE.format(code=code)],
                                cwd=REPO_ROOT, env=env, check=True)
        await pupil.send(face_frames[1][1])
        assert (await next_of(pupil, "feedback"))["expression"] is None
