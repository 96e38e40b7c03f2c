"""One load-generator run in a process of its own: simulate_class's students (classroom.simulation.load), no Django.

The capacity run keeps one or two of these processes (a spawn pool) and hands each run its plan and its feed,
prepared once. So the generator's CPU, which the report measures, is its own, apart from the bench process, and
two of them can load one server when one is not enough.
"""

from __future__ import annotations

import asyncio
from typing import Any

from classroom.simulation.feeds import Feed
from classroom.simulation.load import LoadPlan, run_class


def _quiet(line: str) -> None:
    """run_class's progress lines: the capacity run prints its own, one per run."""


def generate(plan: LoadPlan, feed: Feed) -> dict[str, Any]:
    """simulate_class's JSON report, plus every answered frame's latency (ms), so that the reports of two
    generators combine into exact percentiles."""
    report = asyncio.run(run_class(plan, feed, write_progress=_quiet))
    data = report.to_dict()
    data["latencies_ms"] = [1000 * latency for student in report.students for latency in student.latencies_s]
    return data
