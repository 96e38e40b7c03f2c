"""What a simulated class measured: counts, latency, served rates, and the CPU and memory of both processes."""

from __future__ import annotations

import math
import os
import resource
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least `fraction` of the values at or below it; None for
    no values."""
    if not values:
        return None
    ordered = sorted(values)
    # Rounded first: 0.07 * 100 is 7.000000000000001 in floating point, and its ceiling would be rank 8.
    rank = math.ceil(round(fraction * len(ordered), 9))
    return ordered[min(len(ordered), max(1, rank)) - 1]


def _rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _ms(seconds: list[float], fraction: float) -> float | None:
    """A percentile of durations in seconds, in milliseconds."""
    value = percentile(seconds, fraction)
    return None if value is None else round(1000 * value, 1)


@dataclass
class StudentStats:
    username: str
    behaviour: str
    sent: int = 0
    answered: int = 0
    skipped: int = 0
    errors: Counter = field(default_factory=Counter)
    # Seconds from send to answer; the first answer is kept apart, as it may wait for the server's model to load.
    latencies_s: list[float] = field(default_factory=list)
    first_latency_s: float | None = None
    processing_ms: list[float] = field(default_factory=list)  # the server's decode, model and tracker
    rest_ms: list[float] = field(default_factory=list)  # the rest of each round trip: sockets, JSON, waiting
    states: Counter = field(default_factory=Counter)
    pauses_acknowledged: int = 0
    resumes_acknowledged: int = 0
    streaming_s: float = 0.0  # from the first frame to the end, less the time paused
    unanswered: int = 0
    bytes_up: int = 0  # frames (and pause/resume messages) as sent: the size of each WebSocket message
    bytes_down: int = 0
    most_in_flight: int = 0  # frames sent and not yet answered, at most: 1 in closed loop
    connect_error: str | None = None
    closed_by_server: str | None = None  # "4403 consent_required: ..." when the server closed the socket

    @property
    def served_fps(self) -> float:
        return self.answered / self.streaming_s if self.streaming_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "behaviour": self.behaviour,
            "sent": self.sent,
            "answered": self.answered,
            "skipped": self.skipped,
            "errors": dict(self.errors),
            "unanswered": self.unanswered,
            "most_in_flight": self.most_in_flight,
            "served_fps": round(self.served_fps, 2),
            "latency_ms_p50": _ms(self.latencies_s, 0.5),
            "first_latency_ms": _rounded(None if self.first_latency_s is None else 1000 * self.first_latency_s),
            "states": dict(self.states),
            "pauses_acknowledged": self.pauses_acknowledged,
            "resumes_acknowledged": self.resumes_acknowledged,
            "connect_error": self.connect_error,
            "closed_by_server": self.closed_by_server,
        }


@dataclass
class TeacherStats:
    messages: Counter = field(default_factory=Counter)
    # Per student: the states a teacher saw while the student was not paused, and whether it saw them paused.
    states: dict[str, Counter] = field(default_factory=dict)
    paused: set[str] = field(default_factory=set)
    alerts: Counter = field(default_factory=Counter)
    bytes_down: int = 0
    connect_error: str | None = None
    closed_by_server: str | None = None

    def note(self, student: dict[str, Any]) -> None:
        username = student.get("username", "?")
        if student.get("paused"):
            self.paused.add(username)
        elif student.get("state"):
            self.states.setdefault(username, Counter())[student["state"]] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": dict(self.messages),
            "updates": self.messages["student.update"],
            "states": {username: dict(states) for username, states in self.states.items()},
            "paused": sorted(self.paused),
            "alerts": dict(self.alerts),
            "bytes_down": self.bytes_down,
            "connect_error": self.connect_error,
            "closed_by_server": self.closed_by_server,
        }


@dataclass(frozen=True)
class ProcessSample:
    at: float  # time.monotonic()
    cpu_s: float
    rss_mb: float


def sample_process(pid: int) -> ProcessSample | None:
    """CPU seconds and resident memory of a local process, from /proc; None once it has gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; fields after its closing parenthesis are fixed.
    fields = stat.rpartition(")")[2].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    rss_kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return ProcessSample(at=time.monotonic(), cpu_s=cpu_s, rss_mb=rss_kb / 1024)


def sample_self() -> ProcessSample:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return ProcessSample(at=time.monotonic(), cpu_s=usage.ru_utime + usage.ru_stime, rss_mb=usage.ru_maxrss / 1024)


def cpu_percent(first: ProcessSample | None, last: ProcessSample | None) -> float | None:
    """Percent of one core between two samples (two busy cores are 200)."""
    if first is None or last is None or last.at <= first.at:
        return None
    return 100 * (last.cpu_s - first.cpu_s) / (last.at - first.at)


@dataclass
class Report:
    url: str
    code: str
    mode: str  # "open loop" or "closed loop"
    fps: float
    duration_s: float
    students: list[StudentStats]
    teachers: list[TeacherStats]
    server_pid: int | None = None
    server_samples: list[ProcessSample | None] = field(default_factory=list)  # the first before any student
    server_streaming: ProcessSample | None = None  # once every socket was open: CPU is counted from here
    generator: tuple[ProcessSample, ProcessSample] | None = None
    sends: str = "JPEG frames"  # what each student's messages were (the feed's `sends`)
    connect_s: float = 0.0  # opening every socket, before the `duration_s` of streaming

    def totals(self) -> dict[str, int]:
        errors = sum((student.errors for student in self.students), Counter())
        return {
            "sent": sum(student.sent for student in self.students),
            "answered": sum(student.answered for student in self.students),
            "skipped": sum(student.skipped for student in self.students),
            "errors": sum(errors.values()),
            "unanswered": sum(student.unanswered for student in self.students),
            "most_in_flight": max((student.most_in_flight for student in self.students), default=0),
        }

    def bytes_per_frame(self) -> dict[str, float | None]:
        """WebSocket payload bytes: up per frame (or measurement) sent, down per frame answered (its feedback)."""
        sent = sum(student.sent for student in self.students)
        answered = sum(student.answered for student in self.students)
        return {
            "up": round(sum(student.bytes_up for student in self.students) / sent) if sent else None,
            "down": round(sum(student.bytes_down for student in self.students) / answered) if answered else None,
        }

    def bandwidth_per_student(self) -> dict[str, float | None]:
        """Bytes a second each student's socket carried up and down, on average over the run."""
        if self.duration_s <= 0 or not self.students:
            return {"up": None, "down": None}
        per_second = self.duration_s * len(self.students)
        return {"up": round(sum(student.bytes_up for student in self.students) / per_second),
                "down": round(sum(student.bytes_down for student in self.students) / per_second)}

    def latency_ms(self) -> dict[str, float | None]:
        latencies = [latency for student in self.students for latency in student.latencies_s]
        processing = [ms for student in self.students for ms in student.processing_ms]
        rest = [ms for student in self.students for ms in student.rest_ms]
        return {
            "p50": _ms(latencies, 0.5),
            "p95": _ms(latencies, 0.95),
            "p99": _ms(latencies, 0.99),
            "server_processing_p50": _rounded(percentile(processing, 0.5)),
            "rest_p50": _rounded(percentile(rest, 0.5)),
            "rest_p90": _rounded(percentile(rest, 0.9)),
        }

    def served(self) -> dict[str, float | None]:
        streaming = [student for student in self.students if student.streaming_s > 0]
        rates = [student.served_fps for student in streaming]
        return {
            "overall_fps": round(sum(student.answered for student in self.students) / self.duration_s, 1)
            if self.duration_s > 0 else 0.0,
            "per_student_min_fps": _rounded(min(rates), 2) if rates else None,
            "per_student_median_fps": _rounded(statistics.median(rates), 2) if rates else None,
        }

    def server(self) -> dict[str, Any] | None:
        if self.server_pid is None:
            return None
        samples = [sample for sample in self.server_samples if sample is not None]
        if not samples:
            return {"pid": self.server_pid, "error": "no such local process"}
        before = samples[0]
        connected = len([student for student in self.students if student.connect_error is None])
        peak = max(sample.rss_mb for sample in samples)
        return {
            "pid": self.server_pid,
            # While the students streamed, not while their sockets opened.
            "cpu_percent": _rounded(cpu_percent(self.server_streaming or samples[0], samples[-1])),
            "rss_mb_before_students": round(before.rss_mb, 1),
            "rss_mb_peak": round(peak, 1),
            "rss_mb_end": round(samples[-1].rss_mb, 1),  # as the last students were still connected
            "rss_mb_samples": [round(sample.rss_mb, 1) for sample in samples],  # before, each progress line, end
            "rss_mb_per_student": round((peak - before.rss_mb) / connected, 2) if connected else None,
        }

    def behaviours(self) -> dict[str, dict[str, Any]]:
        """For each behaviour: its students, the states their own feedback showed, and what teachers saw."""
        summary: dict[str, dict[str, Any]] = {}
        for student in self.students:
            entry = summary.setdefault(
                student.behaviour, {"students": 0, "states": Counter(), "teacher_saw": Counter(), "paused": 0}
            )
            entry["students"] += 1
            entry["states"].update(student.states)
            for teacher in self.teachers:
                entry["teacher_saw"].update(teacher.states.get(student.username, Counter()))
            entry["paused"] += any(student.username in teacher.paused for teacher in self.teachers)
        return {name: {**entry, "states": dict(entry["states"]), "teacher_saw": dict(entry["teacher_saw"])}
                for name, entry in summary.items()}

    def problems(self) -> list[str]:
        """Sockets that never opened or that the server closed: the run did not measure what it set out to."""
        found = []
        for student in self.students:
            if student.connect_error or student.closed_by_server:
                found.append(f"student {student.username}: {student.connect_error or student.closed_by_server}")
        for number, teacher in enumerate(self.teachers, 1):
            if teacher.connect_error or teacher.closed_by_server:
                found.append(f"teacher socket {number}: {teacher.connect_error or teacher.closed_by_server}")
        return found

    def to_dict(self) -> dict[str, Any]:
        generator = None
        if self.generator is not None:
            generator = {"cpu_percent": _rounded(cpu_percent(*self.generator)),
                         "rss_mb_peak": round(self.generator[1].rss_mb, 1)}
        return {
            "url": self.url,
            "class": self.code,
            "mode": self.mode,
            "sends": self.sends,
            "fps": self.fps,
            "duration_s": round(self.duration_s, 2),
            "connect_s": round(self.connect_s, 2),
            "bytes_per_frame": self.bytes_per_frame(),
            "bandwidth_bytes_per_s_per_student": self.bandwidth_per_student(),
            **self.totals(),
            "latency_ms": self.latency_ms(),
            "served": self.served(),
            "teachers": [teacher.to_dict() for teacher in self.teachers],
            "server": self.server(),
            "generator": generator,
            "behaviours": self.behaviours(),
            "students": [student.to_dict() for student in self.students],
            "problems": self.problems(),
        }

    def text(self) -> str:
        data = self.to_dict()
        latency, served = data["latency_ms"], data["served"]
        lines = [
            f"{len(self.students)} students ({self.mode}, {self.fps:g} fps, {self.sends}), "
            f"{len(self.teachers)} teacher socket(s), sockets opened in {self.connect_s:.1f} s, then "
            f"{self.duration_s:.1f} s, class {self.code} at {self.url}",
            f"frames    sent {data['sent']}, answered {data['answered']}, skipped {data['skipped']}, "
            f"errors {data['errors']}, unanswered at the end {data['unanswered']}; at most "
            f"{data['most_in_flight']} in flight per student",
            f"latency   p50 {_shown_ms(latency['p50'])}, p95 {_shown_ms(latency['p95'])}, "
            f"p99 {_shown_ms(latency['p99'])} (send to feedback), of which the server's decode, model and tracker p50 "
            f"{_shown_ms(latency['server_processing_p50'])}, the rest p50 {_shown_ms(latency['rest_p50'])}, "
            f"p90 {_shown_ms(latency['rest_p90'])}",
            f"served    {served['overall_fps']} frames/s in all; per student min {served['per_student_min_fps']}, "
            f"median {served['per_student_median_fps']} fps",
        ]
        bytes_per_frame, bandwidth = data["bytes_per_frame"], data["bandwidth_bytes_per_s_per_student"]
        if bytes_per_frame["up"] is not None:
            lines.append(f"bytes     per message {bytes_per_frame['up'] / 1024:.1f} KB up, "
                         f"{bytes_per_frame['down'] or 0:.0f} B of feedback down; per student "
                         f"{bandwidth['up'] / 1024:.1f} KB/s up, {bandwidth['down'] / 1024:.1f} KB/s down")
        if self.teachers and self.duration_s > 0:
            updates = [teacher["updates"] for teacher in data["teachers"]]
            received = statistics.mean(teacher["bytes_down"] for teacher in data["teachers"])
            lines.append(f"teachers  student.update events per socket: {', '.join(map(str, updates))} "
                         f"({statistics.mean(updates) / self.duration_s:.1f}/s, "
                         f"{received / self.duration_s / 1024:.1f} KB/s each)")
        if (server := data["server"]) is not None:
            if "error" in server:
                lines.append(f"server    pid {server['pid']}: {server['error']}")
            else:
                lines.append(
                    f"server    pid {server['pid']}: CPU {server['cpu_percent']}% of one core; memory "
                    f"{server['rss_mb_before_students']} MB before the students, {server['rss_mb_peak']} MB at most, "
                    f"{server['rss_mb_per_student']} MB per student (a server's first frames also load its models)"
                )
        if data["generator"] is not None:
            lines.append(f"generator CPU {data['generator']['cpu_percent']}% of one core (this process)")
        lines.append("behaviours (students: states in their feedback / seen by the teachers)")
        for name, entry in data["behaviours"].items():
            paused = f", paused seen {entry['paused']}" if entry["paused"] else ""
            lines.append(f"  {name} x{entry['students']}: {_top(entry['states'])} / {_top(entry['teacher_saw'])}"
                         f"{paused}")
        lines.extend(f"PROBLEM   {problem}" for problem in data["problems"])
        return "\n".join(lines)


def _shown_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _top(states: dict[str, int]) -> str:
    return ", ".join(f"{state} {count}" for state, count in Counter(states).most_common()) or "none"
