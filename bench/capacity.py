"""`make bench`: how many students one server keeps, measured for real in one run, written to docs/performance.md.

    .venv/bin/python -m bench.capacity [--out docs/performance.md] [--readme README.md] [--sizing docs/deployment.md]
    .venv/bin/python -m bench.capacity --smoke --out var/performance-smoke.md   # every section at tiny sizes

Everything runs on this machine: a private redis-server (the Redis channel layer, as deployed), Daphne processes
serving SmartSession with DEBUG off, the naive reference server (bench/naive_server.py), and simulate_class's
load generator (classroom.simulation) in one or two processes of its own. The database is a SQLite file in the
run's temporary folder, or BENCH_DATABASE_URL (an empty database of its own: the run migrates it and makes its
accounts there). Every student plays the demo clip's faces all the time (the `whole_clip` behaviour), a teacher
watches the class, and every stream is recorded, as in a real class.

The run, in the document's order: the bare model on 1..N threads; students per server at the student page's pace
(closed loop, 10 fps cap, each student served 9 fps or more, p95 at most 250 ms), by a step search then bisection;
the most frames/s served open loop at 5 fps per student with p95 at most 250 ms, for our server and the naive one;
latency at 50%, 90% and 150% of the capacity found; memory and CPU per student; bytes per message; one process with
two vision threads against two processes with one; on-device measurements instead of frames. Speeds depend on the
machine and on whatever else runs on it: run it on a quiet machine, and read one run as one run.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import platform
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.document import QUIET_LOAD, render, write_readme_block, write_sizing_block
from bench.generate import generate
from bench.servers import REPO_ROOT, Daphne, NaiveServer, PrivateRedis, ServerProcess

# The student page's pace and what "keeps up" means (issue 12): blink counting needs about 10 fps.
PAGE_FPS = 10.0
MIN_STUDENT_FPS = 9.0
MAX_P95_MS = 250.0
OPEN_LOOP_FPS = 5.0
LEVELS = (0.5, 0.9, 1.5)
# Above this share of one core, the generator's own pace may be what limits the run: two generators then.
GENERATOR_CPU_LIMIT = 80.0
SEARCH_GROWTH = 1.5
# simulate_class's accounts: one prefix per kind of run, so no run takes over another's live streams.
CLASS_NAME = "Capacity benchmark"


@dataclass(frozen=True)
class Sizes:
    name: str
    behaviour: str  # what every simulated student plays (classroom.simulation.behaviours)
    search_seconds: float  # each run of a capacity search
    level_seconds: float  # each run at 50%, 90% and 150% of capacity
    warmup_seconds: float  # 0: none (each thread then loads its model during the first run)
    model_frames: int
    model_rounds: int
    frame_ceiling: int  # most students a search with frames tries
    on_device_ceiling: int
    resolution: float  # a search stops when its bracket is this close (a fraction of the students)
    timed: bool = True  # False: a run passes when it was answered without errors, however slowly



FULL = Sizes(name="full", behaviour="whole_clip", search_seconds=20, level_seconds=30, warmup_seconds=4,
             model_frames=40, model_rounds=3, frame_ceiling=300, on_device_ceiling=400, resolution=0.05)
# Counts, not timings: every section runs and every number is made, in well under a minute.
SMOKE = Sizes(name="smoke", behaviour="attentive", search_seconds=1.5, level_seconds=1.5, warmup_seconds=0,
              model_frames=3, model_rounds=1, frame_ceiling=1, on_device_ceiling=1, resolution=1.0, timed=False)


def say(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def keeps_page_pace(row: dict[str, Any]) -> bool:
    return (row["problems"] == 0 and row["errors"] == 0 and row["min_fps"] is not None
            and row["min_fps"] >= MIN_STUDENT_FPS and row["p95_ms"] is not None and row["p95_ms"] <= MAX_P95_MS)


def answers_in_time(row: dict[str, Any]) -> bool:
    return row["problems"] == 0 and row["errors"] == 0 and row["p95_ms"] is not None and row["p95_ms"] <= MAX_P95_MS


def answered_without_errors(row: dict[str, Any]) -> bool:
    """A smoke run's test: on a busy machine a model loading on the first frame can take longer than any pace."""
    return row["problems"] == 0 and row["errors"] == 0 and row["answered"] > 0


def largest_passing(measure: Callable[[int], dict[str, Any]], passes: Callable[[dict[str, Any]], bool], *,
                    start: int, ceiling: int, resolution: float) -> tuple[int, int | None, list[dict[str, Any]]]:
    """The most students for which `passes(measure(n))`: steps of x1.5 from `start` until a run passes and one
    fails (or `ceiling` passes), then bisection until the two are within `resolution` of the passing one.

    Returns (largest passing, smallest failing or None, the runs in the order made); 0 when even 1 fails.
    """
    runs: dict[int, dict[str, Any]] = {}

    def ok(students: int) -> bool:
        if students not in runs:
            runs[students] = {**measure(students), "tried": students, "order": len(runs)}
            runs[students]["passed"] = passes(runs[students])
        return runs[students]["passed"]

    students = min(max(1, start), ceiling)
    if ok(students):
        low, high = students, None
        while high is None and low < ceiling:
            students = min(ceiling, max(low + 1, round(low * SEARCH_GROWTH)))
            if ok(students):
                low = students
            else:
                high = students
    else:
        low, high = 0, students
        while low == 0 and high > 1:
            students = max(1, min(high - 1, round(high / SEARCH_GROWTH)))
            if ok(students):
                low = students
            else:
                high = students
    while high is not None and low > 0 and high - low > max(1, round(low * resolution)):
        students = (low + high) // 2
        if ok(students):
            low = students
        else:
            high = students
    return low, high, sorted(runs.values(), key=lambda run: run["order"])


def combine(students: int, reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from the reports of the generators that ran together (exact percentiles over all their answers)."""
    from classroom.simulation.report import percentile

    latencies = [latency for report in reports for latency in report["latencies_ms"]]
    rates = [student["served_fps"] for report in reports for student in report["students"]]
    sent = sum(report["sent"] for report in reports)
    answered = sum(report["answered"] for report in reports)
    servers = {}
    for report in reports:  # two generators on one server both report it: the first is kept
        if report["server"] and "error" not in report["server"]:
            servers.setdefault(report["server"]["pid"], report["server"])

    def weighted(key: str, side: str, weight: str) -> float | None:
        total = sum(report[weight] for report in reports if report[key][side] is not None)
        return round(sum(report[key][side] * report[weight] for report in reports
                         if report[key][side] is not None) / total) if total else None

    def percentile_ms(fraction: float) -> float | None:
        value = percentile(latencies, fraction)
        return None if value is None else round(value, 1)

    return {
        "students": students,
        "generators": len(reports),
        "min_fps": round(min(rates), 2) if rates else None,
        "median_fps": round(statistics.median(rates), 2) if rates else None,
        "p50_ms": percentile_ms(0.5),
        "p95_ms": percentile_ms(0.95),
        "p99_ms": percentile_ms(0.99),
        "processing_p50_ms": statistics.median(
            [report["latency_ms"]["server_processing_p50"] for report in reports
             if report["latency_ms"]["server_processing_p50"] is not None] or [None]),
        "served_fps": round(sum(report["served"]["overall_fps"] for report in reports), 1),
        "sent": sent,
        "answered": answered,
        "skipped": sum(report["skipped"] for report in reports),
        "unanswered": sum(report["unanswered"] for report in reports),
        "errors": sum(report["errors"] for report in reports),
        "problems": sum(len(report["problems"]) for report in reports),
        "problem_lines": [line for report in reports for line in report["problems"]][:5],
        "bytes_up": weighted("bytes_per_frame", "up", "sent"),
        "bytes_down": weighted("bytes_per_frame", "down", "answered"),
        "teacher_updates": sum(teacher["updates"] for report in reports for teacher in report["teachers"]),
        "server_cpu_percent": round(sum(server["cpu_percent"] or 0 for server in servers.values()), 1),
        "server_rss_mb_start": round(sum(server["rss_mb_before_students"] for server in servers.values()), 1),
        "server_rss_mb_end": round(sum(server["rss_mb_end"] for server in servers.values()), 1),
        "server_rss_mb_samples": [server["rss_mb_samples"] for server in servers.values()],
        "generator_cpu_percent": max((report["generator"]["cpu_percent"] or 0 for report in reports), default=None),
        "duration_s": max(report["duration_s"] for report in reports),
        "connect_s": max(report["connect_s"] for report in reports),
    }


class Bench:
    """One capacity run: its folder, Redis, database, class, feeds and generator processes."""

    def __init__(self, sizes: Sizes) -> None:
        self.sizes = sizes
        self.cores = os.cpu_count() or 1
        self.folder = Path(tempfile.mkdtemp(prefix="smartsession-bench-"))
        self.redis = PrivateRedis(self.folder)
        self.servers: list[ServerProcess] = []
        self.pool: ProcessPoolExecutor | None = None
        self.accounts: dict[str, list] = {}

    # Set-up and tear-down.

    def __enter__(self) -> Bench:
        self.redis.start()
        os.environ.update(
            DJANGO_SETTINGS_MODULE="smartsession.settings",
            DATABASE_URL=os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{self.folder / 'bench.sqlite3'}",
            REDIS_URL=self.redis.url,
            # As deployed, except for TLS: DEBUG off (no query log, no debug pages), plain HTTP on 127.0.0.1.
            DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), SECURE_SSL_REDIRECT="0",
        )
        import django
        from django.core.management import call_command

        django.setup()
        say(f"Database {'BENCH_DATABASE_URL' if os.environ.get('BENCH_DATABASE_URL') else 'SQLite'}: migrating")
        call_command("migrate", verbosity=0, interactive=False)
        self.classroom, self.device_classroom, self.teacher_token = self._make_classes()
        self._make_feeds()
        # spawn: each generator starts clean, without this process's Django, threads or MediaPipe.
        self.pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
        return self

    def __exit__(self, *exc_info: object) -> None:
        for server in self.servers:
            server.stop()
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
        self.redis.stop()
        from django.db import connections

        connections.close_all()
        if exc_info[0] is None:
            shutil.rmtree(self.folder, ignore_errors=True)
        else:
            say(f"Server logs kept in {self.folder}")

    def _make_classes(self):
        """One teacher's two classes: one analyses frames on the server, the other on the students' devices."""
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from rest_framework.authtoken.models import Token

        from classroom.roles import TEACHERS_GROUP
        from classroom.services import classroom_create
        from classroom.simulation.accounts import analyse_on_devices

        teacher = get_user_model().objects.create_user("bench-teacher", password=None)
        teacher.groups.add(Group.objects.get_or_create(name=TEACHERS_GROUP)[0])
        frames = classroom_create(teacher=teacher, name=CLASS_NAME)
        on_device = classroom_create(teacher=teacher, name=f"{CLASS_NAME}, on-device")
        analyse_on_devices(classroom=on_device)
        return frames, on_device, Token.objects.get_or_create(user=teacher)[0].key

    def _make_feeds(self) -> None:
        from django.conf import settings

        from classroom.simulation.behaviours import BY_NAME
        from classroom.simulation.feeds import Base64JsonFeed, JpegFeed, MeasurementFeed
        from classroom.views import JPEG_QUALITY

        self.behaviour = BY_NAME[self.sizes.behaviour]
        frames = self.behaviour.frames()
        width = settings.SMARTSESSION_FRAME_WIDTH
        say(f"Encoding {len(frames)} pictures of the demo clip as the page sends them (JPEG, {width} px wide)")
        self.jpegs = JpegFeed(frames, width=width, quality=JPEG_QUALITY)
        self.naive_frames = Base64JsonFeed(self.jpegs)
        say("Measuring the face in each of them, as the page's own model does in on-device mode")
        self.measurements = MeasurementFeed(frames, width=width)

    def start(self, server: ServerProcess) -> ServerProcess:
        server.start()
        self.servers.append(server)
        return server

    def stop(self, *servers: ServerProcess) -> None:
        for server in servers:
            server.stop()
            self.servers.remove(server)

    def daphne(self, vision_workers: int) -> Daphne:
        return self.start(Daphne(self.folder, dict(os.environ), vision_workers=vision_workers))

    # One run.

    def _accounts(self, classroom, prefix: str, students: int) -> list:
        from classroom.simulation.accounts import simulated_accounts
        from classroom.simulation.load import Account

        known = self.accounts.get(prefix, [])
        if len(known) < students:
            made = simulated_accounts(classroom=classroom, students=students, prefix=prefix)
            known = self.accounts[prefix] = [Account(username, token) for username, token in made.student_tokens]
        return known[:students]

    def run(self, servers: list[ServerProcess], students: int, *, feed, closed_loop: bool, fps: float,
            seconds: float, generators: int = 1, prefix: str, teachers: int = 1) -> dict[str, Any]:
        """`students` simulated students on `servers` (split evenly), from `generators` processes; one row."""
        from classroom.simulation.load import Account, LoadPlan

        naive = isinstance(servers[0], NaiveServer)
        classroom = self.device_classroom if feed is self.measurements else self.classroom
        accounts = ([Account(f"naive{number:03d}", "") for number in range(students)] if naive
                    else self._accounts(classroom, prefix, students))
        plans = []
        for number in range(generators):
            server = servers[number % len(servers)]
            plans.append(LoadPlan(
                url=server.url, code="naive" if naive else classroom.join_code,
                students=accounts[number::generators], teacher_token=self.teacher_token,
                teachers=0 if naive or number else teachers, fps=fps, seconds=seconds, closed_loop=closed_loop,
                only_behaviour=self.behaviour, progress_every_s=max(0.5, seconds / 6), server_pid=server.pid,
            ))
        futures = [self.pool.submit(generate, plan, feed) for plan in plans if plan.students]
        return combine(students, [future.result() for future in futures])

    def warm_up(self, *servers: ServerProcess) -> None:
        """Each vision thread loads its model on its first frame: done here, before anything is measured."""
        if not self.sizes.warmup_seconds:
            return
        for server in servers:
            workers = getattr(server, "vision_workers", 1)
            self.run([server], max(4, 2 * workers), feed=self.jpegs, closed_loop=True, fps=PAGE_FPS,
                     seconds=self.sizes.warmup_seconds, prefix="warmup", teachers=0)

    def search(self, label: str, measure: Callable[[int], dict[str, Any]], passes, *, start: int,
               ceiling: int) -> dict[str, Any]:
        def measured(students: int) -> dict[str, Any]:
            row = measure(students)
            problems = f", PROBLEMS: {row['problem_lines']}" if row["problems"] else ""
            say(f"  {label}, {row['students']} students: min {row['min_fps']} fps, median {row['median_fps']}, "
                f"p95 {row['p95_ms']} ms, {row['served_fps']} frames/s served, server CPU "
                f"{row['server_cpu_percent']}%, generator CPU {row['generator_cpu_percent']}%{problems}")
            return row

        if not self.sizes.timed:
            passes = answered_without_errors
        best, first_failing, runs = largest_passing(measured, passes, start=start, ceiling=ceiling,
                                                    resolution=self.sizes.resolution)
        say(f"  {label}: {best} (first failing: {first_failing or 'none up to ' + str(ceiling)})")
        return {"students": best, "first_failing": first_failing, "ceiling": ceiling, "runs": runs,
                "best": next((run for run in runs if run["tried"] == best), None)}

    # The sections.

    def machine(self) -> dict[str, Any]:
        import cv2
        import django
        import mediapipe
        import numpy

        def first(path: str, key: str) -> str:
            try:
                for line in Path(path).read_text().splitlines():
                    if line.startswith(key):
                        return line.split(":", 1)[1].strip()
            except OSError:
                pass
            return "unknown"

        memory_kb = first("/proc/meminfo", "MemTotal").split()[0]
        return {
            "cores": self.cores,
            "cpu_model": first("/proc/cpuinfo", "model name"),
            "ram_gb": round(int(memory_kb) / 2**20, 1) if memory_kb.isdigit() else None,
            "os": platform.platform(),
            "python": platform.python_version(),
            "mediapipe": mediapipe.__version__,
            "opencv": cv2.__version__,
            "numpy": numpy.__version__,
            "django": django.__version__,
            "redis_server": self.redis.version(),
            "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        }

    def model_limit(self) -> dict[str, Any]:
        from vision.bench import throughput
        from vision.model import load_model_bytes

        jpegs = list(self.jpegs.jpegs.values())
        jpegs = jpegs[::max(1, len(jpegs) // self.sizes.model_frames)][:self.sizes.model_frames]
        model = load_model_bytes()
        rows = []
        for threads in range(1, self.cores + 1):
            rows.append({
                "threads": threads,
                "model_fps": round(throughput(model, jpegs, threads, self.sizes.model_rounds, False), 1),
                "whole_fps": round(throughput(model, jpegs, threads, self.sizes.model_rounds, True), 1),
            })
            say(f"  {threads} thread(s): model {rows[-1]['model_fps']} frames/s, with decoding "
                f"{rows[-1]['whole_fps']}")
        return {"frames": len(jpegs), "rounds": self.sizes.model_rounds, "jpeg_bytes":
                round(statistics.fmean(len(jpeg) for jpeg in jpegs)), "threads": rows}

    def page_pace(self, servers: list[ServerProcess], *, label: str, prefix: str, start: int) -> dict[str, Any]:
        return self.search(
            label,
            lambda students: self.run(servers, students, feed=self.jpegs, closed_loop=True, fps=PAGE_FPS,
                                      seconds=self.sizes.search_seconds, prefix=prefix),
            keeps_page_pace, start=start, ceiling=self.sizes.frame_ceiling,
        )

    def two_processes(self, pair: list[ServerProcess], *, start: int) -> dict[str, Any]:
        """Students per machine with one process per core: the search counts students per process, the same on
        each, from a generator process per server."""
        found = self.search(
            "two processes, 1 thread each (students per process)",
            lambda per_process: self.run(pair, 2 * per_process, feed=self.jpegs, closed_loop=True, fps=PAGE_FPS,
                                         seconds=self.sizes.search_seconds, prefix="processes", generators=2),
            keeps_page_pace, start=start, ceiling=max(1, self.sizes.frame_ceiling // 2),
        )
        return {**found, "students": 2 * found["students"], "ceiling": 2 * found["ceiling"],
                "first_failing": found["first_failing"] and 2 * found["first_failing"]}

    def open_loop(self, server: ServerProcess, *, label: str, feed, start: int) -> dict[str, Any]:
        return self.search(
            label,
            lambda students: self.run([server], students, feed=feed, closed_loop=False, fps=OPEN_LOOP_FPS,
                                      seconds=self.sizes.search_seconds, prefix="open"),
            answers_in_time, start=start, ceiling=self.sizes.frame_ceiling,
        )

    def levels(self, capacity: int) -> list[dict[str, Any]]:
        server = self.daphne(self.cores)  # a fresh server, so its memory at the start is a baseline
        self.warm_up(server)
        rows = []
        for level in LEVELS:
            students = max(1, round(capacity * level))
            row = self.run([server], students, feed=self.jpegs, closed_loop=True, fps=PAGE_FPS,
                           seconds=self.sizes.level_seconds * (2 if level > 1 else 1), prefix="level")
            rows.append({"level": level, **row})
            say(f"  {round(100 * level)}% ({students} students): min {row['min_fps']} fps, median "
                f"{row['median_fps']}, p50/p95/p99 {row['p50_ms']}/{row['p95_ms']}/{row['p99_ms']} ms, server RSS "
                f"{row['server_rss_mb_start']} -> {row['server_rss_mb_end']} MB")
        self.stop(server)
        return rows

    def on_device(self) -> dict[str, Any]:
        """Students per server with measurements instead of frames; two generators once one is the limit."""
        server = self.daphne(self.cores)
        self.warm_up(server)  # with frames: its memory at the start is then a served server's, as in section 4
        generators = {"count": 1, "limited_at": None}

        def measure(students: int) -> dict[str, Any]:
            row = self.run([server], students, feed=self.measurements, closed_loop=True, fps=PAGE_FPS,
                           seconds=self.sizes.search_seconds, prefix="device", generators=generators["count"])
            if generators["count"] == 1 and (row["generator_cpu_percent"] or 0) > GENERATOR_CPU_LIMIT:
                say(f"  one generator used {row['generator_cpu_percent']}% of a core at {students} students: "
                    f"it may be the limit, so two generator processes from here on")
                generators.update(count=2, limited_at=students)
                row = self.run([server], students, feed=self.measurements, closed_loop=True, fps=PAGE_FPS,
                               seconds=self.sizes.search_seconds, prefix="device", generators=2)
            return row

        start = 50 if self.sizes is FULL else 1
        found = self.search("on-device, closed loop at 10 fps", measure, keeps_page_pace, start=start,
                            ceiling=self.sizes.on_device_ceiling)
        self.stop(server)
        return {**found, "generator_limited_at": generators["limited_at"]}


def run(sizes: Sizes) -> dict[str, Any]:
    began = time.monotonic()
    data: dict[str, Any] = {"sizes": asdict(sizes), "written_at": datetime.datetime.now().astimezone().isoformat(
        timespec="minutes"), "criteria": {"page_fps": PAGE_FPS, "min_student_fps": MIN_STUDENT_FPS,
                                          "max_p95_ms": MAX_P95_MS, "open_loop_fps": OPEN_LOOP_FPS,
                                          "generator_cpu_limit": GENERATOR_CPU_LIMIT}}
    with Bench(sizes) as bench:
        data["machine"] = bench.machine()
        data["database"] = "postgresql" if "postgres" in os.environ["DATABASE_URL"].split(":", 1)[0] else "sqlite"
        cores = bench.cores
        say(f"1. The bare model on the demo clip's frames, 1..{cores} threads")
        data["model"] = model = bench.model_limit()
        whole_fps = model["threads"][-1]["whole_fps"]
        smoke = sizes is SMOKE

        say(f"2. Students per server at the page's pace (one Daphne, VISION_WORKERS={cores})")
        server = bench.daphne(cores)
        bench.warm_up(server)
        data["page_pace"] = bench.page_pace([server], label="closed loop at 10 fps", prefix="pace",
                                            start=1 if smoke else round(0.7 * whole_fps / PAGE_FPS))
        capacity = data["page_pace"]["students"]

        say("3. Open loop at 5 fps per student: our server")
        ours = bench.open_loop(server, label="ours, open loop at 5 fps", feed=bench.jpegs,
                               start=1 if smoke else round(0.7 * whole_fps / OPEN_LOOP_FPS))
        bench.stop(server)
        say("3. Open loop at 5 fps per student: the naive reference server")
        naive_server = bench.start(NaiveServer(bench.folder, dict(os.environ)))
        bench.warm_up(naive_server)
        naive = bench.open_loop(naive_server, label="naive, open loop at 5 fps", feed=bench.naive_frames,
                                start=1 if smoke else round(0.7 * model["threads"][0]["whole_fps"] / OPEN_LOOP_FPS))
        bench.stop(naive_server)
        data["open_loop"] = {"ours": ours, "naive": naive}

        say(f"4. Latency at 50%, 90% and 150% of {capacity} students, on a fresh server")
        data["levels"] = bench.levels(capacity)

        say("7. Processes or threads: two Daphne processes with VISION_WORKERS=1 each")
        if cores == 2:
            threads = {**data["page_pace"], "same_as": "page_pace"}
        else:
            server = bench.daphne(2)
            bench.warm_up(server)
            threads = bench.page_pace([server], label="one process, 2 threads", prefix="threads",
                                      start=max(1, capacity))
            bench.stop(server)
        pair = [bench.daphne(1), bench.daphne(1)]
        bench.warm_up(*pair)
        processes = bench.two_processes(pair, start=max(1, threads["students"] // 2))
        bench.stop(*pair)
        data["processes_vs_threads"] = {"threads": threads, "processes": processes}

        say("8. On-device analysis: measurements instead of frames")
        data["on_device"] = bench.on_device()
        data["machine"]["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    data["duration_s"] = round(time.monotonic() - began)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "performance.md",
                        help="Where the document goes (default docs/performance.md).")
    parser.add_argument("--readme", type=Path, help="Also write the capacity lines of this README (make bench does).")
    parser.add_argument("--sizing", type=Path,
                        help="Also write the sizing figures of this deployment guide (make bench does).")
    parser.add_argument("--smoke", action="store_true",
                        help="Every section at tiny sizes, in well under a minute: counts, not timings.")
    options = parser.parse_args(argv)
    sizes = SMOKE if options.smoke else FULL
    load = os.getloadavg()
    say(f"make bench ({sizes.name}): {os.cpu_count()} cores, load average {', '.join(f'{value:.2f}' for value in load)}")
    if sizes is FULL and load[0] >= QUIET_LOAD:
        say(f"WARNING: the machine is busy (1-minute load average {load[0]:.2f}, quiet is under {QUIET_LOAD}): the "
            "numbers will be low, and the document will say that the machine was not quiet.")
    data = run(sizes)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(render(data))
    say(f"Wrote {options.out} in {data['duration_s']} s")
    if options.readme:
        write_readme_block(options.readme, data)
        say(f"Wrote the capacity lines of {options.readme}")
    if options.sizing:
        write_sizing_block(options.sizing, data)
        say(f"Wrote the sizing figures of {options.sizing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
