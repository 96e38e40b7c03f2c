"""`manage.py simulate_class` against a real Daphne, as `make demo` runs it: its report, and what a teacher saw."""

import json
import subprocess
import sys

import pytest
from browser_fixtures import REPO_ROOT, Daphne

from bench.servers import NaiveServer
from classroom.simulation.behaviours import BEHAVIOURS
from vision.measurements import MESSAGE_BYTES_WITH_FACE

pytestmark = pytest.mark.slow

SECONDS = 12


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """`make demo`'s server: the demo class on a Daphne of its own, with its own SQLite database."""
    daphne = Daphne(tmp_path_factory.mktemp("demo-server"))
    for command in (["migrate", "--no-input", "-v", "0"], ["seed_demo", "--students", "0"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=REPO_ROOT, env=daphne.env, check=True,
                       capture_output=True)
    daphne.start()
    try:
        yield daphne
    finally:
        daphne.stop()


def simulate_class(server: Daphne, *options: str, url: str = "", naive_url: str = "",
                   code: str = "democlass") -> subprocess.CompletedProcess:
    target = ["--naive", naive_url] if naive_url else ["--class", code, "--url", url or server.url]
    command = [sys.executable, "manage.py", "simulate_class", *target, *options]
    return subprocess.run(command, cwd=REPO_ROOT, env=server.env, capture_output=True, text=True, timeout=180)


def test_it_streams_every_behaviour_to_a_real_server_and_a_teacher_sees_them(demo_server):
    finished = simulate_class(demo_server, "--students", str(len(BEHAVIOURS)), "--fps", "5",
                              "--seconds", str(SECONDS), "--teachers", "1", "--progress-every", "4",
                              "--server-pid", str(demo_server.process.pid), "--json")
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    report = json.loads(finished.stdout)

    assert report["problems"] == [] and report["errors"] == 0, finished.stdout
    # Every frame was answered, replaced by a newer one (the server's `skipped`), or still in flight at the end.
    assert report["sent"] == report["answered"] + report["skipped"] + report["unanswered"], finished.stdout
    assert all(student["answered"] > 0 for student in report["students"]), report["students"]
    assert report["latency_ms"]["p50"] > 0 and report["served"]["per_student_min_fps"] > 0, report["served"]
    assert report["server"]["cpu_percent"] > 0 and report["server"]["rss_mb_peak"] > 0, report["server"]
    assert "students connected" in finished.stderr, "a progress line every few seconds"

    (teacher,) = report["teachers"]
    assert teacher["messages"]["snapshot"] == 1 and teacher["updates"] > 0, teacher["messages"]
    assert teacher["messages"]["student.left"] == len(BEHAVIOURS), "teachers watch until every student has left"
    by_behaviour = report["behaviours"]
    for behaviour in BEHAVIOURS:
        if behaviour.shows == "paused":
            assert by_behaviour[behaviour.name]["paused"] == 1, "the teacher saw the pausing student paused"
        else:
            assert by_behaviour[behaviour.name]["teacher_saw"].get(behaviour.shows), (behaviour.name, by_behaviour)

    students = {student["behaviour"]: student for student in report["students"]}
    assert students["pausing"]["pauses_acknowledged"] == 1
    # Paused after 3 s of a 12 s run, so it sent far fewer frames than a student who never paused.
    assert students["pausing"]["sent"] < students["attentive"]["sent"] / 2


def test_it_paces_closed_loop_like_the_student_page(demo_server):
    # After the test above, so the server has loaded its models: a first frame slower than the page's 2 s
    # fallback would rightly send a second frame before the first is answered.
    finished = simulate_class(demo_server, "--students", "1", "--fps", "30", "--seconds", "3", "--closed-loop",
                              "--behaviour", "whole_clip", "--json")
    assert finished.returncode == 0, finished.stderr
    (student,) = json.loads(finished.stdout)["students"]
    assert student["most_in_flight"] == 1, "the next frame waits for the last one's feedback"
    assert student["skipped"] == 0 and 3 <= student["sent"] <= 30 * 3 + 1


def test_it_says_which_sockets_could_not_open(demo_server):
    elsewhere = simulate_class(demo_server, "--students", "1", "--seconds", "1", url="http://127.0.0.1:9")
    assert elsewhere.returncode == 1
    assert "could not open ws://127.0.0.1:9/ws/student/DEMOCLASS/" in elsewhere.stdout
    assert "Is the server running at http://127.0.0.1:9" in elsewhere.stderr


def test_it_never_gives_consent_for_a_real_account(demo_server):
    manage = [sys.executable, "manage.py", "shell", "-c"]
    make_real_account = "from django.contrib.auth.models import User; User.objects.create_user('real02', password='x')"
    subprocess.run([*manage, make_real_account], cwd=REPO_ROOT, env=demo_server.env, check=True, capture_output=True)

    refused = simulate_class(demo_server, "--students", "2", "--seconds", "1", "--prefix", "real")

    assert refused.returncode == 1
    assert "real02 is a real account, not one simulate_class made" in refused.stderr
    count_made = "from django.contrib.auth.models import User; print(User.objects.filter(username='real01').count())"
    counted = subprocess.run([*manage, count_made], cwd=REPO_ROOT, env=demo_server.env, check=True,
                             capture_output=True, text=True)
    assert counted.stdout.splitlines()[-1] == "0", "nothing is made, not even the simulated student before it"


ON_DEVICE_CLASS = """
from django.contrib.auth.models import User
from classroom.services import classroom_create
from classroom.simulation.accounts import analyse_on_devices
classroom = classroom_create(teacher=User.objects.get(username="teacher"), name="On-device class")
analyse_on_devices(classroom=classroom)
print(classroom.join_code)
"""


def test_it_streams_on_device_measurements_instead_of_frames(demo_server):
    made = subprocess.run([sys.executable, "manage.py", "shell", "-c", ON_DEVICE_CLASS], cwd=REPO_ROOT,
                          env=demo_server.env, check=True, capture_output=True, text=True)
    code = made.stdout.split()[-1]

    # Students of their own: earlier tests' students would carry on their streams (and resting faces) from there.
    finished = simulate_class(demo_server, "--on-device", "--students", "2", "--seconds", "4", "--closed-loop",
                              "--behaviour", "attentive", "--prefix", "device", "--json", code=code)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    report = json.loads(finished.stdout)

    assert report["sends"] == "on-device measurements" and report["problems"] == [] and report["errors"] == 0
    # Every picture of this behaviour has a face and nobody pauses: every message is one measurement with a face.
    assert report["bytes_per_frame"]["up"] == MESSAGE_BYTES_WITH_FACE
    for student in report["students"]:
        assert student["answered"] >= 10 and student["most_in_flight"] == 1, student
        assert set(student["states"]) == {"focused"}, "the same tracker reads the measurements as the frames"
    (teacher,) = report["teachers"]
    assert teacher["updates"] > 0 and all(set(states) == {"focused"} for states in teacher["states"].values())


def test_it_drives_the_naive_reference_server_with_base64_json_and_no_accounts(demo_server, tmp_path):
    naive = NaiveServer(tmp_path, dict(demo_server.env))
    naive.start()
    pid = naive.pid
    try:
        finished = simulate_class(demo_server, "--students", "2", "--seconds", "4", "--fps", "5",
                                  "--behaviour", "attentive", "--server-pid", str(pid), "--json",
                                  naive_url=naive.url)
    finally:
        naive.stop()
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    report = json.loads(finished.stdout)

    assert report["sends"] == "base64 JSON frames" and report["teachers"] == [] and report["errors"] == 0
    assert report["sent"] == report["answered"] + report["unanswered"], "the naive server skips nothing"
    assert all(student["answered"] > 0 and student["states"] == {"focused": student["answered"]}
               for student in report["students"])
    assert report["bytes_per_frame"]["up"] > 20_000, "a base64 JPEG in JSON"
    assert report["server"]["pid"] == pid and report["server"]["cpu_percent"] > 0
