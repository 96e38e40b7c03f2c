"""docs/performance.md from one capacity run's numbers, and the README's capacity lines quoted from it.

The document carries its numbers as JSON in a closing HTML comment, so the README's lines and the tests read the
very numbers the tables show, and nobody types one by hand.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

DATA_BEGIN = "<!-- make bench data"
DATA_END = "-->"
README_BEGIN = "<!-- make bench: begin (written by make bench from docs/performance.md) -->"
README_END = "<!-- make bench: end -->"
SIZING_BEGIN = "<!-- make bench sizing: begin (written by make bench from docs/performance.md) -->"
SIZING_END = "<!-- make bench sizing: end -->"
# The servers docs/deployment.md sizes, by cores; two processes at least, so a rolling restart keeps a server.
SIZING_CORES = (2, 4, 8)
README_WIDTH = 115
# A machine with a 1-minute load average under this is quiet enough to measure on.
QUIET_LOAD = 0.5
NOT_MEASURED = ("Not measured yet on this branch: run `make bench` on a quiet machine; it writes "
                "[docs/performance.md](docs/performance.md) and these lines.")


def fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) or digits:
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def students_text(count: int) -> str:
    return f"{count} student" if count == 1 else f"{count} students"


def duration_text(seconds: float) -> str:
    return f"{round(seconds)} s" if seconds < 120 else f"{round(seconds / 60)} minutes"


def per_core(students: int, cores: int) -> float:
    return round(students / cores, 1)


def _first_run(search: dict[str, Any]) -> dict[str, Any]:
    """The run whose per-message figures stand for the search: its best, else its first."""
    return search["best"] or search["runs"][0]


def _capacity(search: dict[str, Any]) -> str:
    """`12 students`, or `at least 400 students` when the search stopped at its ceiling with every run passing."""
    if search["first_failing"] is None and search["students"] == search["ceiling"]:
        return f"at least {students_text(search['students'])}"
    return students_text(search["students"])


def _runs_table(runs: list[dict[str, Any]], *, criterion: str) -> list[str]:
    lines = [
        "| students | generators | min fps | median fps | p50 ms | p95 ms | p99 ms | served frames/s | skipped | "
        "errors | server CPU % | generator CPU % | " + criterion + " |",
        "|" + "---:|" * 12 + ":---:|",
    ]
    for run in sorted(runs, key=lambda run: run["students"]):
        lines.append(
            f"| {run['students']} | {run['generators']} | {fmt(run['min_fps'], 1)} | {fmt(run['median_fps'], 1)} | "
            f"{fmt(run['p50_ms'])} | {fmt(run['p95_ms'])} | {fmt(run['p99_ms'])} | {fmt(run['served_fps'])} | "
            f"{run['skipped']} | {run['errors'] + run['problems']} | {fmt(run['server_cpu_percent'])} | "
            f"{fmt(run['generator_cpu_percent'])} | {'yes' if run['passed'] else 'no'} |"
        )
    return lines


def _rate_kb(bytes_per_message: float | None, criteria: dict[str, Any]) -> float | None:
    """KB/s of one student at the page's frame rate."""
    return None if bytes_per_message is None else bytes_per_message * criteria["page_fps"] / 1024


def _rss_growth(row: dict[str, Any]) -> tuple[float, float]:
    """(RSS a third into the run, at its end), summed over the run's servers."""
    samples = row["server_rss_mb_samples"]
    return (round(sum(server[len(server) // 3] for server in samples), 1),
            round(sum(server[-1] for server in samples), 1))


def render(data: dict[str, Any]) -> str:
    machine, sizes, criteria = data["machine"], data["sizes"], data["criteria"]
    cores = machine["cores"]
    pace, levels, device = data["page_pace"], data["levels"], data["on_device"]
    ours, naive = data["open_loop"]["ours"], data["open_loop"]["naive"]
    threads, processes = data["processes_vs_threads"]["threads"], data["processes_vs_threads"]["processes"]
    database = "PostgreSQL (BENCH_DATABASE_URL)" if data["database"] == "postgresql" else "SQLite"
    load_at_start = machine["load_average_at_start"]
    quiet = load_at_start[0] < QUIET_LOAD
    lines = [
        "# Performance",
        "",
        f"Written by `make bench` (`bench/capacity.py`) on {data['written_at']}, in "
        f"{duration_text(data['duration_s'])}. Every number here comes from that one run, "
        + ("on a quiet machine" if quiet else "**on a machine that was not quiet**")
        + f" (load average {', '.join(map(str, load_at_start))} at the start, "
        f"{', '.join(map(str, machine['load_average_at_end']))} at the end, the run's own load included); another "
        "run gives somewhat other numbers, and another machine other ones. Run `make bench` on your own server for "
        "its figures.",
        "",
    ]
    if sizes["name"] == "smoke":
        lines += ["**Smoke run** (`BENCH_SMOKE=1 make bench`): every section at tiny sizes, to show that `make bench` "
                  "still works. These numbers mean nothing.", ""]
    lines += [
        "## The machine",
        "",
        "| | |",
        "|---|---|",
        f"| cores | {cores} |",
        f"| CPU | {machine['cpu_model']} |",
        f"| memory | {fmt(machine['ram_gb'], 1)} GB |",
        f"| system | {machine['os']} |",
        f"| Python | {machine['python']} |",
        f"| MediaPipe, OpenCV, NumPy | {machine['mediapipe']}, {machine['opencv']}, {machine['numpy']} |",
        f"| Django, redis-server | {machine['django']}, {machine['redis_server']} |",
        "",
        "## How it was measured",
        "",
        f"- **The server** as deployed: Daphne with `DEBUG=0` and `VISION_WORKERS` = {cores} (the cores), the Redis "
        f"channel layer on a redis-server of the run's own, a {database} database. Every stream is recorded (a "
        "sample every 5 s) and one teacher socket watches the class, as in a lesson.",
        "- **The students** are `manage.py simulate_class`'s load generator (`classroom/simulation/`): real "
        "WebSocket clients with tokens, in a process of their own on the same machine (two where one was not "
        f"enough), so the generator and the server share the {cores} cores; each table gives the generator's CPU. "
        f"Every student plays the committed demo clip with her face in view all the time (`{sizes['behaviour']}`), "
        "sent as the student page sends it: binary JPEG, 640 px wide, quality 0.7.",
        f"- **The student page's pace**: closed loop, the next frame when the last one's feedback arrives, at most "
        f"{fmt(criteria['page_fps'])} a second, and after 2 s without feedback anyway. A server **keeps the pace** "
        f"when every student is served at least {fmt(criteria['min_student_fps'])} frames a second, p95 latency "
        f"(send to feedback) is at most {fmt(criteria['max_p95_ms'])} ms, and nothing errs.",
        "- **A run** first opens every student's socket, a few at a time (as a class trickles in; a few hundred "
        "handshakes at once would measure that storm instead), then all stream together, and only that part is "
        "measured. Each student keeps a beat of its own, as students press Start at different moments: their first "
        "frames are spread over one frame interval, not sent in one burst on every beat.",
        f"- **Searches** try a number of students, step by x1.5 until one run passes and one fails, then bisect "
        f"until the two are within {round(100 * sizes['resolution'])}%. Each run streams for "
        f"{fmt(sizes['search_seconds'], 1)} s; the first answer of each student (a connection's start) is left out "
        "of the latencies.",
        "",
        "## 1. The bare model limit",
        "",
        f"MediaPipe's FaceLandmarker as the project calls it (IMAGE mode, up to 4 faces, blendshapes and the "
        f"transformation matrix) on {data['model']['frames']} frames of the demo clip, 640x360 JPEG of "
        f"{fmt(data['model']['jpeg_bytes'] / 1024, 1)} KB, {data['model']['rounds']} rounds, one landmarker per "
        "thread, outside any server (`vision.bench.throughput`).",
        "",
        "| threads | model only, frames/s | decode + model + signals, frames/s |",
        "|---:|---:|---:|",
        *[f"| {row['threads']} | {fmt(row['model_fps'])} | {fmt(row['whole_fps'])} |"
          for row in data["model"]["threads"]],
        "",
        "## 2. Students per server at the student page's pace",
        "",
        f"**{_capacity(pace)}** keep the page's pace on one server ({fmt(per_core(pace['students'], cores), 1)} "
        "per core)"
        + (f", served {fmt(pace['best']['served_fps'])} frames/s in all" if pace["best"] else "")
        + (f"; at {pace['first_failing']} they no longer do." if pace["first_failing"] else ".")
        + " The runs of the search:",
        "",
        *_runs_table(pace["runs"], criterion="keeps pace"),
        "",
        f"## 3. Open loop at {fmt(criteria['open_loop_fps'])} frames a second per student",
        "",
        "Every student sends on a fixed beat whatever the answers, so a server past its capacity either skips "
        "frames (ours: each student's newest frame wins) or queues them (the naive design: FastAPI on uvicorn, base64 "
        "JSON frames, the model run inside the WebSocket handler; `bench/naive_server.py`). The measure is the most "
        f"frames a second served while p95 stays at most {fmt(criteria['max_p95_ms'])} ms, both servers in this run.",
        "",
        "| server | students | served frames/s | p95 ms |",
        "|---|---:|---:|---:|",
    ]
    for name, search in (("SmartSession (Daphne, vision threads)", ours), ("naive reference", naive)):
        best = search["best"]
        lines.append(f"| {name} | {_capacity(search)} | {fmt(best['served_fps'] if best else None)} | "
                     f"{fmt(best['p95_ms'] if best else None)} |")
    ratio = (round(ours["best"]["served_fps"] / naive["best"]["served_fps"], 2)
             if ours["best"] and naive["best"] and naive["best"]["served_fps"] else None)
    lines += ["", f"Ours serves **{fmt(ratio, 2)} x** the naive design's frames at that latency.", "",
              "Our server's runs:", "", *_runs_table(ours["runs"], criterion="p95 in time"), "",
              "The naive server's runs:", "", *_runs_table(naive["runs"], criterion="p95 in time"), ""]

    lines += [
        f"## 4. Latency at 50%, 90% and 150% of capacity ({students_text(pace['students'])})",
        "",
        "On a fresh server, warmed up, the three runs one after another (the 150% run twice as long). Memory is the "
        "server's resident set size before the students connect and as the last ones are still connected.",
        "",
        "| load | students | min fps | median fps | p50 ms | p95 ms | p99 ms | served frames/s | skipped | "
        "server RSS at start, MB | at end, MB |",
        "|---|" + "---:|" * 10,
    ]
    for row in levels:
        lines.append(
            f"| {round(100 * row['level'])}% | {row['students']} | {fmt(row['min_fps'], 1)} | "
            f"{fmt(row['median_fps'], 1)} | {fmt(row['p50_ms'])} | {fmt(row['p95_ms'])} | {fmt(row['p99_ms'])} | "
            f"{fmt(row['served_fps'])} | {row['skipped']} | {fmt(row['server_rss_mb_start'])} | "
            f"{fmt(row['server_rss_mb_end'])} |"
        )
    overload = levels[-1]
    third, end = _rss_growth(overload)
    share = (round(overload["min_fps"] / overload["median_fps"], 2)
             if overload["min_fps"] is not None and overload["median_fps"] else None)
    lines += ["", f"At 150% the slowest-served student gets {fmt(share, 2)} of the median student's rate, and the "
              f"server's memory goes from {fmt(third)} MB a third into the run to {fmt(end)} MB at its end "
              f"({'+' if end >= third else ''}{fmt(round(end - third, 1), 1)} MB).", ""]

    nearly_full = levels[1]
    students = nearly_full["students"]
    lines += [
        "## 5. Memory and CPU per student",
        "",
        f"At 90% of capacity ({students_text(students)}, frames) and at the on-device capacity, from the server's own "
        "/proc figures (`simulate_class --server-pid`):",
        "",
        "| | students | server CPU, % of one core | CPU per student, % of one core | server memory growth per "
        "student, MB |",
        "|---|---:|---:|---:|---:|",
        f"| frames | {students} | {fmt(nearly_full['server_cpu_percent'])} | "
        f"{fmt(nearly_full['server_cpu_percent'] / students, 2)} | "
        f"{fmt((nearly_full['server_rss_mb_end'] - nearly_full['server_rss_mb_start']) / students, 2)} |",
    ]
    device_run = _first_run(device)
    lines += [
        f"| on-device measurements | {device_run['students']} | {fmt(device_run['server_cpu_percent'])} | "
        f"{fmt(device_run['server_cpu_percent'] / device_run['students'], 2)} | "
        f"{fmt((device_run['server_rss_mb_end'] - device_run['server_rss_mb_start']) / device_run['students'], 2)} |",
        "",
        "Memory growth per student is the server's resident memory at the end of the run less at its start, over "
        "the students; the vision threads' models are loaded before (the warm-up).",
        "",
        "## 6. Bytes per message",
        "",
        "WebSocket payloads as sent and received by the students (the feedback is JSON; the teacher's updates are "
        "not counted here).",
        "",
        f"| what a student sends | up, bytes per message | down, bytes per answer | per student at "
        f"{fmt(criteria['page_fps'])} fps: up, KB/s | down, KB/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, run in (("binary JPEG frames (the page)", _first_run(pace)),
                      ("base64 JSON frames (the naive design)", _first_run(naive)),
                      ("on-device measurements", device_run)):
        lines.append(f"| {name} | {fmt(run['bytes_up'])} | {fmt(run['bytes_down'])} | "
                     f"{fmt(_rate_kb(run['bytes_up'], criteria), 1)} | {fmt(_rate_kb(run['bytes_down'], criteria), 1)} |")

    better = ("two processes keep" if processes["students"] > threads["students"] * 1.05 else
              "one process with two threads keeps" if threads["students"] > processes["students"] * 1.05 else None)
    lines += [
        "",
        "## 7. Processes or threads",
        "",
        "Students per machine at the page's pace: one Daphne with `VISION_WORKERS=2` against two Daphne processes "
        "with `VISION_WORKERS=1` each on the same Redis and database, the students split evenly between them (two "
        "generator processes, one per server; the teacher on the first sees both through Redis).",
        "",
        "| set-up | students at the page's pace |",
        "|---|---:|",
        f"| one process, 2 vision threads | {_capacity(threads)} |",
        f"| two processes, 1 vision thread each | {_capacity(processes)} |",
        "",
        (f"Here **{better}** more students (more than 5% apart)." if better else
         "Here the two keep the same students within 5%: neither is better on this machine.")
        + (" The one-process figure is section 2's, which ran that same set-up." if threads.get("same_as") else ""),
        "",
        "Two processes' runs:",
        "",
        *_runs_table(processes["runs"], criterion="keeps pace"),
        "",
        "## 8. On-device analysis",
        "",
        "The student's browser runs the face model and sends its measurements (`SSM1`, docs/protocol.md) instead of "
        "frames; the server validates them and runs the same signals and tracker (`simulate_class --on-device`, "
        "measurements made once by our Python model from the same clip). Same pace and criteria as section 2.",
        "",
        f"**{_capacity(device)}** keep the page's pace on one server, one Daphne process "
        f"({_device_load(device)}), "
        + (f"{fmt(round(device['students'] / pace['students'], 1), 1)} x the frame path's {pace['students']}"
           if pace["students"] else "the frame path kept none")
        + (f"; at {device['first_failing']} they no longer do." if device["first_failing"] else
           f"; the search stops at {device['ceiling']}.")
        + f" Opening the sockets of the largest run ({students_text(max(run['students'] for run in device['runs']))})"
        f" took {fmt(max(run['connect_s'] for run in device['runs']), 1)} s."
        + f" At {fmt(criteria['page_fps'])} fps each student sends {fmt(_rate_kb(device_run['bytes_up'], criteria), 1)} "
        f"KB/s up and gets {fmt(_rate_kb(device_run['bytes_down'], criteria), 1)} KB/s of feedback down, against "
        f"{fmt(_rate_kb(_first_run(pace)['bytes_up'], criteria), 1)} KB/s up with frames (section 6).",
        "",
        (f"One generator process used more than {fmt(criteria['generator_cpu_limit'])}% of a core at "
         f"{device['generator_limited_at']} students, so from there on two generator processes loaded the server. "
         "They share the machine's cores with it: past that point the figure is a lower bound for a server with the "
         "machine to itself." if device["generator_limited_at"] else
         f"One generator process stayed below {fmt(criteria['generator_cpu_limit'])}% of a core in every run, so it "
         "was not the limit; it still shares the machine's cores with the server."),
        "",
        *_runs_table(device["runs"], criterion="keeps pace"),
        "",
        f"{DATA_BEGIN} (the numbers above, for the README and the tests)",
        # One line a section: readable enough in a diff, and short.
        "{\n" + ",\n".join(f"{json.dumps(key)}: {json.dumps(value, sort_keys=True)}"
                            for key, value in sorted(data.items())) + "\n}",
        DATA_END,
        "",
    ]
    return "\n".join(lines)


def read_data(document: str) -> dict[str, Any]:
    """The numbers a document was written from."""
    start = document.index(DATA_BEGIN)
    body = document[document.index("\n", start) + 1:document.rindex(DATA_END)]
    return json.loads(body)


def _device_load(device: dict[str, Any]) -> str:
    """What the on-device capacity cost the server: measurements are read on the process's one event loop."""
    return f"it used {fmt(_first_run(device)['server_cpu_percent'])}% of one core"


def readme_block(data: dict[str, Any] | None) -> str:
    """The README's capacity lines, every number taken from the document's data."""
    if data is None:
        return textwrap.fill(NOT_MEASURED, README_WIDTH, break_long_words=False, break_on_hyphens=False)
    cores, pace, device = data["machine"]["cores"], data["page_pace"], data["on_device"]
    return textwrap.fill(
        f"Measured by `make bench` on {data['written_at'][:10]}, on {cores} cores ({data['machine']['cpu_model']}), "
        f"in [docs/performance.md](docs/performance.md): **{_capacity(pace)} per server** at the student "
        f"page's pace (each served {data['criteria']['min_student_fps']:g} fps or more, p95 at most "
        f"{data['criteria']['max_p95_ms']:g} ms), **{per_core(pace['students'], cores):g} per core**; with on-device "
        f"analysis, {_capacity(device)} on one Daphne process ({_device_load(device)}).",
        README_WIDTH, break_long_words=False, break_on_hyphens=False,
    )


def processes_recommended(data: dict[str, Any]) -> bool:
    """Whether section 7 found one process per core better than one process with a thread per core."""
    runs = data["processes_vs_threads"]
    return runs["processes"]["students"] > runs["threads"]["students"] * 1.05


def sizing_block(data: dict[str, Any] | None) -> str:
    """docs/deployment.md's sizing figures and table, every number taken from the document's data."""
    if data is None:
        return textwrap.fill(NOT_MEASURED.replace("docs/performance.md](docs/performance.md)",
                                                  "docs/performance.md](performance.md)"),
                             README_WIDTH, break_long_words=False, break_on_hyphens=False)
    cores, pace, device = data["machine"]["cores"], data["page_pace"], data["on_device"]
    criteria, nearly_full = data["criteria"], data["levels"][1]
    frames_per_core = per_core(pace["students"], cores)
    growth = (nearly_full["server_rss_mb_end"] - nearly_full["server_rss_mb_start"]) / max(1, nearly_full["students"])
    runs = data["processes_vs_threads"]
    processes = processes_recommended(data)
    per_process, threaded = _capacity(runs["processes"]), _capacity(runs["threads"])
    if processes:
        layouts = f"one process per core kept more students ({per_process} against {threaded})"
    elif runs["threads"]["students"] > runs["processes"]["students"] * 1.05:
        layouts = f"one process with a vision thread per core kept more students ({threaded} against {per_process})"
    else:
        layouts = f"one process per core and one with a vision thread per core kept as many ({per_process} and {threaded})"
    text = textwrap.fill(
        f"**Measured capacity: {frames_per_core:g} students per CPU core** streaming at the student page's pace "
        f"({fmt(criteria['page_fps'])} frames a second; each served {criteria['min_student_fps']:g} fps or more, p95 "
        f"at most {criteria['max_p95_ms']:g} ms): {_capacity(pace)} on a {cores}-core server ({data['machine']['cpu_model']}), "
        f"measured by `make bench` on {data['written_at'][:10]} ([performance.md](performance.md)). With on-device "
        f"analysis (a class setting: the students' browsers run the face model) **one Daphne process kept "
        f"{_capacity(device)}** ({_device_load(device)}): a process reads measurements on its one event loop, so that "
        f"figure grows with processes, not vision threads (the table assumes so; more than one process was not "
        f"measured with measurements). Each streaming student added {fmt(growth, 1)} MB to the server's memory. On that machine {layouts}, "
        f"so the table {'runs a Daphne process per core with one vision thread each' if processes else 'runs two Daphne processes (a rolling restart needs two) with the cores shared out as vision threads'}. "
        "More cores are extrapolated from the measured per-core figure: face analysis is nearly all of the work.",
        README_WIDTH, break_long_words=False, break_on_hyphens=False)
    rows = ["| cores | students streaming frames | students with on-device analysis (one process's figure × processes) | Daphne processes "
            "(`DAPHNE_PORTS`) | `VISION_WORKERS` each |", "|---:|---:|---:|---:|---:|"]
    for server_cores in SIZING_CORES:
        daphnes = server_cores if processes else 2
        rows.append(f"| {server_cores} | {int(frames_per_core * server_cores)} | {device['students'] * daphnes} "
                    f"| {daphnes} | {max(1, server_cores // daphnes)} |")
    return text + "\n\n" + "\n".join(rows)


def _write_block(path: Path, begin: str, end: str, body: str) -> None:
    text = path.read_text()
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{path} has no block ({begin} ... {end}) for make bench to write.")
    block = f"{begin}\n{body}\n{end}"
    path.write_text(pattern.sub(lambda match: block, text, count=1))


def write_readme_block(readme: Path, data: dict[str, Any]) -> None:
    _write_block(readme, README_BEGIN, README_END, readme_block(data))


def write_sizing_block(guide: Path, data: dict[str, Any]) -> None:
    _write_block(guide, SIZING_BEGIN, SIZING_END, sizing_block(data))
