"""Memory per connected student and the consumer path's own cost per frame, measured in-process.

Runs against a throwaway test database (like the test runner), so it never touches real data:
    python manage.py bench_live [--students 50] [--frames 100] [--video PATH]
"""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import time
import tracemalloc
from pathlib import Path

import cv2
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import setup_databases, teardown_databases

from vision.cli import DEFAULT_BENCH_VIDEO
from vision.media import read_frames

ORIGIN = (b"origin", b"http://localhost")


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:
        parser.add_argument("--students", type=int, default=50)
        parser.add_argument("--frames", type=int, default=100)
        parser.add_argument("--video", default=str(DEFAULT_BENCH_VIDEO))

    def handle(self, *args, students: int, frames: int, video: str, **options) -> None:
        if not Path(video).is_file():
            raise CommandError(f"{video} not found; pass --video with a face video")
        jpegs = [
            cv2.imencode(".jpg", cv2.cvtColor(cv2.resize(rgb, (640, 480)), cv2.COLOR_RGB2BGR),
                         [cv2.IMWRITE_JPEG_QUALITY, 70])[1].tobytes()
            for _, _, rgb in read_frames(Path(video))
        ][:frames]
        databases = setup_databases(verbosity=0, interactive=False)
        try:
            tokens, code = self._users(students)
            result = asyncio.run(self._measure(tokens, code, jpegs))
        finally:
            teardown_databases(databases, verbosity=0)
        for line in result:
            self.stdout.write(line)

    def _users(self, count: int) -> tuple[list[str], str]:
        from django.contrib.auth.models import Group, User
        from rest_framework.authtoken.models import Token

        from classroom.services import classroom_create, classroom_join

        teacher = User.objects.create_user("bench_teacher")
        teacher.groups.add(Group.objects.get_or_create(name="teachers")[0])
        classroom = classroom_create(teacher=teacher, name="Bench")
        tokens = []
        for number in range(count):
            student = User.objects.create_user(f"bench_student{number}")
            classroom_join(student=student, code=classroom.join_code)
            tokens.append(Token.objects.create(user=student).key)
        return tokens, classroom.join_code

    async def _connect(self, code: str, token: str) -> WebsocketCommunicator:
        from smartsession.asgi import application

        communicator = WebsocketCommunicator(
            application, f"/ws/student/{code}/", headers=[ORIGIN, (b"authorization", f"Token {token}".encode())]
        )
        connected, _ = await communicator.connect(timeout=30)
        assert connected
        return communicator

    async def _measure(self, tokens: list[str], code: str, jpegs: list[bytes]) -> list[str]:
        from classroom import live

        await sync_to_async(live.vision_pool)()  # the model threads are a per-process cost, not per student
        first = await self._connect(code, tokens[0])  # warm every code path once
        await first.send_to(bytes_data=jpegs[0])
        await first.receive_from(timeout=30)

        # The consumer path on top of analysis: round trip of one frame at a time minus the server's own
        # processing_ms (decode, model, tracker).
        overheads, processing = [], []
        for jpeg in jpegs:
            started = time.perf_counter()
            await first.send_to(bytes_data=jpeg)
            feedback = json.loads(await first.receive_from(timeout=30))
            round_trip_ms = 1000 * (time.perf_counter() - started)
            overheads.append(round_trip_ms - feedback["processing_ms"])
            processing.append(feedback["processing_ms"])

        gc.collect()
        tracemalloc.start()
        before_python, before_rss = tracemalloc.get_traced_memory()[0], _rss_mb()
        others = []
        for token in tokens[1:]:
            communicator = await self._connect(code, token)
            # A few seconds of stream, so the tracker's windows hold what a streaming student's would.
            for jpeg in jpegs[:10]:
                await communicator.send_to(bytes_data=jpeg)
                await communicator.receive_from(timeout=30)
            others.append(communicator)
        gc.collect()
        after_python, after_rss = tracemalloc.get_traced_memory()[0], _rss_mb()
        tracemalloc.stop()
        for communicator in [first, *others]:
            await communicator.disconnect()
        count = len(others)
        return [
            f"consumer path per frame, {len(jpegs)} frames of 640x480 JPEG one at a time:",
            f"  server processing (decode + model + tracker): median {statistics.median(processing):.2f} ms",
            f"  everything else (socket, JSON, channel layer, teacher fan-out): median "
            f"{statistics.median(overheads):.2f} ms, p90 {sorted(overheads)[int(0.9 * len(overheads))]:.2f} ms",
            f"memory per connected, streaming student ({count} students, after 10 frames each):",
            f"  Python objects {(after_python - before_python) / count / 1024:.1f} KiB, "
            f"process RSS {(after_rss - before_rss) / count * 1024:.1f} KiB",
        ]
