"""`BENCH_SMOKE=1 make bench`, as CI runs it: every section of docs/performance.md made at tiny sizes.

Counts, not timings: every run streamed, was answered and had no errors, and every number of the document is
there. How fast anything was is for the real `make bench` on a quiet machine.
"""

import os
import re
import subprocess

import pytest
from browser_fixtures import REPO_ROOT

from bench.document import (README_BEGIN, README_END, SIZING_BEGIN, SIZING_END, per_core, processes_recommended,
                            read_data, readme_block, sizing_block, write_readme_block, write_sizing_block)
from vision.measurements import MESSAGE_BYTES_WITH_FACE

pytestmark = pytest.mark.slow

SECTIONS = (
    "## The machine",
    "## How it was measured",
    "## 1. The bare model limit",
    "## 2. Students per server at the student page's pace",
    "## 3. Open loop at 5 frames a second per student",
    "## 4. Latency at 50%, 90% and 150% of capacity",
    "## 5. Memory and CPU per student",
    "## 6. Bytes per message",
    "## 7. Processes or threads",
    "## 8. On-device analysis",
)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """(the document, its data) from one smoke run into a folder of the test's own."""
    folder = tmp_path_factory.mktemp("bench")
    published = [(path, path.read_bytes() if path.exists() else None)
                 for path in (REPO_ROOT / "README.md", REPO_ROOT / "docs" / "performance.md")]
    env = {key: value for key, value in os.environ.items()
           if key not in ("REDIS_URL", "BENCH_DATABASE_URL", "MAKEFLAGS", "MAKELEVEL")}
    env.update(DATABASE_URL=f"sqlite:///{folder / 'setup.sqlite3'}")  # make setup's migrate, not the bench's

    finished = subprocess.run(["make", "bench", "BENCH_SMOKE=1", f"BENCH_OUT={folder / 'performance.md'}"],
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)

    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-5000:]
    assert [(path, path.read_bytes() if path.exists() else None) for path, _ in published] == published, \
        "a smoke run never touches the published document or the README"
    document = (folder / "performance.md").read_text()
    return document, read_data(document), finished.stderr


@pytest.mark.parametrize(("variables", "publishes"), [
    ({}, True),
    ({"BENCH_OUT": "var/performance-elsewhere.md"}, False),
    ({"BENCH_SMOKE": "1"}, False),
])
def test_only_a_run_into_docs_performance_rewrites_the_readme_and_the_guide(variables, publishes):
    # They quote docs/performance.md: numbers from a document written elsewhere would not match it.
    env = {key: value for key, value in os.environ.items()
           if key not in ("BENCH_OUT", "BENCH_SMOKE", "MAKEFLAGS", "MAKELEVEL")}
    planned = subprocess.run(["make", "-n", "bench"], cwd=REPO_ROOT, env={**env, **variables}, capture_output=True,
                             text=True, timeout=60)  # -n: prints the commands, runs none of them
    assert planned.returncode == 0, planned.stderr
    command = next(line for line in planned.stdout.splitlines() if "-m bench.capacity" in line)
    assert ("--readme README.md --sizing docs/deployment.md" in command) == publishes, command


def every_run(data):
    for search in (data["page_pace"], data["open_loop"]["ours"], data["open_loop"]["naive"],
                   data["processes_vs_threads"]["processes"], data["on_device"]):
        yield from search["runs"]
    yield from data["levels"]


def test_it_writes_every_section_in_order_with_every_number(smoke):
    document, data, progress = smoke
    positions = [document.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    prose = document[:document.index("<!-- make bench data")]
    assert not re.search(r"n/a|\bNone\b|\bnan\b|\binf\b", prose), "a number is missing from the document"
    assert "Smoke run" in prose and data["sizes"]["name"] == "smoke"
    assert "1. The bare model" in progress and "8. On-device analysis" in progress, "it says what it is doing"


def test_it_describes_the_machine(smoke):
    _, data, _ = smoke
    machine = data["machine"]
    assert machine["cores"] == os.cpu_count() and machine["cpu_model"] and machine["ram_gb"] > 0
    assert all(machine[package] for package in ("python", "mediapipe", "opencv", "redis_server"))
    assert [row["threads"] for row in data["model"]["threads"]] == list(range(1, machine["cores"] + 1))
    assert all(row["model_fps"] > 0 and row["whole_fps"] > 0 for row in data["model"]["threads"])


def test_every_run_streamed_and_was_answered_without_errors(smoke):
    _, data, _ = smoke
    runs = list(every_run(data))
    assert len(runs) >= 8
    for run in runs:
        assert run["problems"] == 0 and run["errors"] == 0, run
        assert 0 < run["answered"] <= run["sent"] == run["answered"] + run["skipped"] + run["unanswered"], run
        assert run["min_fps"] > 0 and 0 < run["p50_ms"] <= run["p95_ms"] <= run["p99_ms"], run
        assert run["server_cpu_percent"] > 0 and 0 < run["server_rss_mb_start"] and 0 < run["server_rss_mb_end"], run
        assert run["generator_cpu_percent"] is not None, run


def test_a_teacher_watched_and_the_students_took_both_processes(smoke):
    _, data, _ = smoke
    for search in (data["page_pace"], data["processes_vs_threads"]["processes"], data["on_device"]):
        assert all(run["teacher_updates"] > 0 for run in search["runs"])
    assert all(run["teacher_updates"] == 0 for run in data["open_loop"]["naive"]["runs"]), "the naive has none"
    assert all(run["students"] == run["generators"] == 2 for run in data["processes_vs_threads"]["processes"]["runs"])
    assert [row["level"] for row in data["levels"]] == [0.5, 0.9, 1.5]


def test_it_counts_the_bytes_of_each_kind_of_message(smoke):
    _, data, _ = smoke
    frames = data["page_pace"]["runs"][0]
    naive = data["open_loop"]["naive"]["runs"][0]
    on_device = data["on_device"]["runs"][0]
    assert frames["bytes_up"] > 5_000 and naive["bytes_up"] > 1.3 * frames["bytes_up"], "base64 costs a third more"
    assert on_device["bytes_up"] == MESSAGE_BYTES_WITH_FACE, "one measurement with a face per message"
    assert all(run["bytes_down"] > 100 for run in (frames, naive, on_device)), "a JSON feedback per answer"


def test_it_writes_the_readme_lines_from_the_document(smoke, tmp_path):
    _, data, _ = smoke
    readme = tmp_path / "README.md"
    original = (REPO_ROOT / "README.md").read_text()
    readme.write_text(original)

    write_readme_block(readme, data)

    written = readme.read_text()
    assert f"{README_BEGIN}\n{readme_block(data)}\n{README_END}" in written
    students_per_core = per_core(data["page_pace"]["students"], data["machine"]["cores"])
    assert f"**{students_per_core:g} per core**" in " ".join(readme_block(data).split()), "wrapped lines read as one"
    before, after = original.split(README_BEGIN)[0], original.split(README_END)[1]
    assert written.startswith(before) and written.endswith(after), "nothing else changes"


def test_it_writes_the_deployment_guides_sizing_from_the_document(smoke, tmp_path):
    _, data, _ = smoke
    guide = tmp_path / "deployment.md"
    original = (REPO_ROOT / "docs" / "deployment.md").read_text()
    guide.write_text(original)

    write_sizing_block(guide, data)

    written = guide.read_text()
    block = sizing_block(data)
    assert f"{SIZING_BEGIN}\n{block}\n{SIZING_END}" in written
    frames_per_core = per_core(data["page_pace"]["students"], data["machine"]["cores"])
    assert f"**Measured capacity: {frames_per_core:g} students per CPU core**" in " ".join(block.split())
    eight_cores = next(line for line in block.splitlines() if line.startswith("| 8 |"))
    students, _, daphnes, threads = (int(cell) for cell in eight_cores.strip("|").split("|")[1:5])
    assert students == int(frames_per_core * 8)
    # Section 7's finding decides the layout; either way processes x vision threads make the cores.
    assert (daphnes, threads) == ((8, 1) if processes_recommended(data) else (2, 4)), eight_cores
    before, after = original.split(SIZING_BEGIN)[0], original.split(SIZING_END)[1]
    assert written.startswith(before) and written.endswith(after), "nothing else changes"
