"""The load generator: N student sockets playing their behaviours, M teacher sockets watching, one event loop.

Plain asyncio and the `websockets` client: no Django here, so it measures a server anywhere it can reach. The
accounts and tokens come from the caller (classroom/management/commands/simulate_class.py).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from .behaviours import Behaviour, FrameRef, Pause, behaviour_for
from .feeds import Feed
from .report import Report, StudentStats, TeacherStats, percentile, sample_process, sample_self

# The student page's fallback (static/js/student/frame-sender.js, ANSWER_TIMEOUT_MS): an answer that has not come
# by then was lost, so the next frame goes anyway.
ANSWER_TIMEOUT_S = 2.0
# After the end, how long a student waits for the answers to frames still in flight.
DRAIN_S = 3.0
# Sockets opening at once. Each handshake costs the server a few database queries on its one sync thread, and
# Daphne drops a handshake not accepted within 5 s: a few hundred at once would measure that storm, not a class.
CONCURRENT_HANDSHAKES = 8
MAX_MESSAGE_BYTES = 4 * 2**20
# Students press Start at different moments, so every page keeps a beat of its own. Successive students' first
# frames step round one frame interval by this fraction of it (golden-ratio steps, which spread evenly for any
# class size). Started in step, N students would send N frames at once on every beat and stay in step, and a
# server would be measured on bursts that no class sends.
BEAT_STEP = (5**0.5 - 1) / 2


@dataclass(frozen=True)
class Account:
    username: str
    token: str


@dataclass(frozen=True)
class LoadPlan:
    url: str  # the server's base URL: http(s)://host:port or ws(s)://host:port
    code: str
    students: list[Account]
    teacher_token: str
    teachers: int
    fps: float
    seconds: float | None  # None: until interrupted
    closed_loop: bool
    only_behaviour: Behaviour | None = None  # None: the behaviours in turn
    progress_every_s: float = 5.0
    server_pid: int | None = None

    def behaviour_of(self, student_number: int) -> tuple[Behaviour, float]:
        return behaviour_for(student_number, only=self.only_behaviour)

    def socket_url(self, role: str) -> str:
        parts = urlsplit(self.url)
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
        return f"{scheme}://{parts.netloc}/ws/{role}/{self.code}/"

    @property
    def origin(self) -> str:
        # Channels' origin check needs one, and it must name a host in the server's ALLOWED_HOSTS.
        return http_base(self.url)


def http_base(url: str) -> str:
    """http(s)://host:port of a server given by its http(s) or ws(s) URL."""
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}"


def beat_offset_s(student_number: int, fps: float) -> float:
    """How long after the class starts streaming this student sends a first frame: within one frame interval."""
    return (student_number * BEAT_STEP) % 1.0 / fps


def wait_for_server(url: str, *, seconds: float) -> bool:
    """True once the server's /healthz answers 200; False if it has not within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{http_base(url)}/healthz", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)


def open_socket(plan: LoadPlan, role: str, token: str):
    return connect(
        plan.socket_url(role),
        origin=plan.origin,
        additional_headers={"Authorization": f"Token {token}"},
        # The server does not compress, and compressing JPEG would only cost the generator CPU.
        compression=None,
        proxy=None,
        max_size=MAX_MESSAGE_BYTES,
        open_timeout=30,
    )


def _closed_by_server(socket: ClientConnection, refusal: dict | None) -> str | None:
    code = socket.close_code
    if code is None or code in (1000, 1001):
        return None
    if refusal:
        reason = f"{refusal.get('code')}: {refusal.get('message', '')}"
    else:
        reason = socket.close_reason or ("the connection was lost" if code == 1006 else "")
    return f"closed with code {code}: {reason}" if reason else f"closed with code {code}"


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    if seconds <= 0 or stop.is_set():
        return
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


async def _either(first: asyncio.Event, second: asyncio.Event) -> None:
    waits = {asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())}
    _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for wait in pending:
        wait.cancel()


class Arrivals:
    """Students open their sockets a few at a time, then all start streaming together once every socket is open (or
    has failed), each on its own beat (beat_offset_s): a run measures N students streaming at once, from its first
    second."""

    def __init__(self, students: int) -> None:
        self.handshakes = asyncio.Semaphore(CONCURRENT_HANDSHAKES)
        self.waiting = students
        self.all_in = asyncio.Event()
        if not students:
            self.all_in.set()

    def arrived(self) -> None:
        self.waiting -= 1
        if self.waiting == 0:
            self.all_in.set()


async def _wait_until(done: Callable[[], bool], changed: asyncio.Event, seconds: float) -> None:
    """Until done() holds, checked again each time `changed` is set, for at most `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not done() and loop.time() < deadline:
        changed.clear()
        try:
            await asyncio.wait_for(changed.wait(), deadline - loop.time())
        except TimeoutError:
            return


@dataclass
class StreamingTime:
    """From a student's first frame to the end, less the time paused: what their served rate is over."""

    first_frame_at: float | None = None
    paused_at: float | None = None
    paused_s: float = 0.0

    def frame(self, now: float) -> None:
        if self.first_frame_at is None:
            self.first_frame_at = now

    def pause(self, now: float) -> bool:
        """True if this pauses a stream that was not paused."""
        if self.paused_at is not None:
            return False
        self.paused_at = now
        return True

    def resume(self, now: float) -> bool:
        """True if this resumes a paused stream."""
        if self.paused_at is None:
            return False
        # A pause before the first frame takes nothing from the streaming time.
        self.paused_s += now - max(self.paused_at, self.first_frame_at or now)
        self.paused_at = None
        return True

    def seconds(self, end: float) -> float:
        if self.first_frame_at is None:
            return 0.0
        self.resume(end)
        return max(0.0, end - self.first_frame_at - self.paused_s)


class SimulatedStudent:
    """One student page: sends its behaviour's frames, paced open or closed loop, and reads its feedback."""

    def __init__(self, plan: LoadPlan, account: Account, behaviour: Behaviour, phase_s: float, feed: Feed,
                 on_latency: Callable[[float], None], beat_offset_s: float = 0.0) -> None:
        self.plan, self.account, self.behaviour, self.phase_s, self.feed = plan, account, behaviour, phase_s, feed
        self.beat_offset_s = beat_offset_s
        self.on_latency = on_latency
        self.stats = StudentStats(username=account.username, behaviour=behaviour.name)
        self.connected = self.opened = False
        self.answered = asyncio.Event()
        self.fair_fps: float | None = None  # the server's equal share when it is saturated (docs/protocol.md)
        self.in_flight: deque[tuple[int, float]] = deque()  # (the server's frame number, sent at)
        self.streaming = StreamingTime()
        self.next_frame_at = 0.0
        self.refusal: dict | None = None

    async def run(self, stop: asyncio.Event, arrivals: Arrivals) -> None:
        try:
            try:
                async with arrivals.handshakes:
                    socket = await open_socket(self.plan, "student", self.account.token)
            finally:
                arrivals.arrived()
            async with socket:
                self.connected = self.opened = True
                receiving = asyncio.ensure_future(self.receive(socket))
                try:
                    await _either(arrivals.all_in, stop)
                    await self.send(socket, stop)
                    await self.drain()
                except ConnectionClosed:
                    pass
                finally:
                    await socket.close()
                    await receiving
                    self.stats.closed_by_server = _closed_by_server(socket, self.refusal)
        except (OSError, InvalidHandshake, TimeoutError) as error:
            self.stats.connect_error = f"could not open {self.plan.socket_url('student')}: {error}"
        finally:
            self.connected = False
            self.stats.unanswered = len(self.in_flight)

    async def send(self, socket: ClientConnection, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        await _sleep_unless(stop, self.beat_offset_s)
        started = self.next_frame_at = loop.time()
        try:
            while not stop.is_set():
                step, offset = self.behaviour.step_at(loop.time() - started, phase_s=self.phase_s)
                if isinstance(step, Pause):
                    if self.streaming.pause(loop.time()):
                        await socket.send(json.dumps({"type": "pause"}))
                    await _sleep_unless(stop, step.seconds - offset)
                    continue
                if self.streaming.resume(loop.time()):
                    await socket.send(json.dumps({"type": "resume"}))
                sent_at = await self.send_frame(socket, step.frame_at(offset))
                await self.wait_for_next_frame(sent_at, stop)
        finally:  # also when the server closed the socket
            self.stats.streaming_s = self.streaming.seconds(loop.time())

    async def send_frame(self, socket: ClientConnection, frame: FrameRef) -> float:
        sent_at = asyncio.get_running_loop().time()
        # The loop's clock never goes back, and frames of one student are sent a beat apart: a capture time that
        # goes forward on this socket, as the page's own (performance.now()) does.
        message = self.feed.message(frame, capture_ms=1000 * sent_at)
        self.stats.sent += 1
        self.in_flight.append((self.stats.sent, sent_at))  # the server numbers binary frames from 1, as they arrive
        self.stats.most_in_flight = max(self.stats.most_in_flight, len(self.in_flight))
        self.stats.bytes_up += len(message)
        self.streaming.frame(sent_at)
        self.answered.clear()
        await socket.send(message)
        return sent_at

    async def wait_for_next_frame(self, sent_at: float, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        gap_s = 1.0 / self.plan.fps
        if self.plan.closed_loop:
            # Like the page: the next frame when the answer comes, never sooner than the cap allows, and never
            # faster than the server's fair share when it says it is saturated.
            if self.fair_fps:
                gap_s = max(gap_s, 1.0 / self.fair_fps)
            try:
                await asyncio.wait_for(self.answered.wait(), max(ANSWER_TIMEOUT_S, gap_s))
            except TimeoutError:
                pass
            self.next_frame_at = sent_at + gap_s
        else:
            # Open loop: on a fixed beat; when late, carry on from now rather than burst to catch up.
            self.next_frame_at = max(self.next_frame_at + gap_s, loop.time())
        await _sleep_unless(stop, self.next_frame_at - loop.time())

    async def drain(self) -> None:
        await _wait_until(lambda: not self.in_flight, self.answered, DRAIN_S)

    async def receive(self, socket: ClientConnection) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for raw in socket:
                now = loop.time()
                self.stats.bytes_down += len(raw)
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "feedback":
                    self.stats.answered += 1
                    self.stats.skipped += message.get("skipped", 0)
                    self.stats.states[message.get("state")] += 1
                    self.fair_fps = message.get("fair_fps")
                    self.answer(message.get("frame"), now, processing_ms=message.get("processing_ms"))
                elif kind == "error":
                    self.stats.errors[message.get("code")] += 1
                    if "frame" in message:
                        self.answer(message["frame"], now)
                    else:
                        self.refusal = message  # a refused socket: the close that follows says more
                elif kind == "paused":
                    self.stats.pauses_acknowledged += 1
                elif kind == "resumed":
                    self.stats.resumes_acknowledged += 1
        except ConnectionClosed:
            pass
        finally:
            self.answered.set()

    def answer(self, number: int | None, now: float, *, processing_ms: float | None = None) -> None:
        """Frame `number` was answered; frames sent before it were replaced by it on the server."""
        while self.in_flight and number is not None and self.in_flight[0][0] <= number:
            sent_number, sent_at = self.in_flight.popleft()
            if sent_number != number:
                continue
            latency = now - sent_at
            if self.stats.first_latency_s is None:
                self.stats.first_latency_s = latency
                continue
            self.stats.latencies_s.append(latency)
            self.on_latency(latency)
            if isinstance(processing_ms, (int, float)):
                self.stats.processing_ms.append(processing_ms)
                self.stats.rest_ms.append(1000 * latency - processing_ms)
        self.answered.set()


class WatchingTeacher:
    """One teacher dashboard's socket: counts what it is told and notes each student's states."""

    def __init__(self, plan: LoadPlan) -> None:
        self.plan = plan
        self.stats = TeacherStats()
        self.left: set[str] = set()
        self.someone_left = asyncio.Event()

    async def run(self, students_gone: asyncio.Event, students: list[SimulatedStudent]) -> None:
        try:
            async with open_socket(self.plan, "teacher", self.plan.teacher_token) as socket:
                reading = asyncio.ensure_future(self.read(socket))
                gone = asyncio.ensure_future(students_gone.wait())
                await asyncio.wait({reading, gone}, return_when=asyncio.FIRST_COMPLETED)
                if not reading.done():
                    await self.see_them_leave({student.account.username for student in students if student.opened})
                gone.cancel()
                await socket.close()
                refusal = await reading
                self.stats.closed_by_server = _closed_by_server(socket, refusal)
        except (OSError, InvalidHandshake, TimeoutError) as error:
            self.stats.connect_error = f"could not open {self.plan.socket_url('teacher')}: {error}"

    async def see_them_leave(self, usernames: set[str]) -> None:
        """Wait, a little, for the server's student.left of everyone who was connected."""
        await _wait_until(lambda: usernames <= self.left, self.someone_left, DRAIN_S)

    async def read(self, socket: ClientConnection) -> dict | None:
        refusal = None
        try:
            async for raw in socket:
                self.stats.bytes_down += len(raw)
                message = json.loads(raw)
                kind = message.get("type")
                self.stats.messages[kind] += 1
                if kind == "snapshot":
                    for student in message.get("students", []):
                        self.stats.note(student)
                elif kind in ("student.update", "student.joined", "student.left"):
                    self.stats.note(message["student"])
                    if kind == "student.left":
                        self.left.add(message["student"].get("username"))
                        self.someone_left.set()
                elif kind == "alert":
                    self.stats.alerts[message.get("kind")] += 1
                elif kind == "error":
                    refusal = message
        except ConnectionClosed:
            pass
        return refusal


class Progress:
    """A line every few seconds on stderr: what the last interval served, and how fast."""

    def __init__(self, plan: LoadPlan, students: list[SimulatedStudent], teachers: list[WatchingTeacher],
                 server_samples: list, write: Callable[[str], None]) -> None:
        self.plan, self.students, self.teachers = plan, students, teachers
        self.server_samples, self.write = server_samples, write
        self.latencies: list[float] = []  # answered since the last line

    def record(self, latency_s: float) -> None:
        self.latencies.append(latency_s)

    async def run(self, stop: asyncio.Event, started: float) -> None:
        loop = asyncio.get_running_loop()
        answered_before, updates_before, last = 0, 0, started
        while not stop.is_set():
            await _sleep_unless(stop, self.plan.progress_every_s)
            if stop.is_set():
                return  # the report follows
            now = loop.time()
            answered = sum(student.stats.answered for student in self.students)
            updates = sum(teacher.stats.messages["student.update"] for teacher in self.teachers)
            latencies, self.latencies = self.latencies, []
            interval = max(now - last, 1e-9)
            p95 = percentile(latencies, 0.95)
            line = (
                f"[{now - started:5.0f} s] {sum(student.connected for student in self.students)}/{len(self.students)} "
                f"students connected, {(answered - answered_before) / interval:.0f} frames/s served, "
                f"p95 {'-' if p95 is None else f'{1000 * p95:.0f} ms'}"
            )
            if self.teachers:
                line += f", {(updates - updates_before) / interval / len(self.teachers):.0f} teacher updates/s"
            if self.plan.server_pid is not None:
                sample = sample_process(self.plan.server_pid)
                self.server_samples.append(sample)
                if sample is not None and len(self.server_samples) > 1 and self.server_samples[-2] is not None:
                    previous = self.server_samples[-2]
                    busy = 100 * (sample.cpu_s - previous.cpu_s) / max(sample.at - previous.at, 1e-9)
                    line += f", server CPU {busy:.0f}% RSS {sample.rss_mb:.0f} MB"
            self.write(line)
            answered_before, updates_before, last = answered, updates, now


async def run_class(plan: LoadPlan, feed: Feed, *,
                    write_progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> Report:
    """Opens every student's socket, then runs the class for plan.seconds (or until SIGINT/SIGTERM) and reports what
    it measured while they streamed."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    server_samples = [sample_process(plan.server_pid)] if plan.server_pid is not None else []
    teachers = [WatchingTeacher(plan) for _ in range(plan.teachers)]
    students: list[SimulatedStudent] = []
    progress = Progress(plan, students, teachers, server_samples, write_progress)
    for number, account in enumerate(plan.students):
        behaviour, phase_s = plan.behaviour_of(number)
        students.append(SimulatedStudent(plan, account, behaviour, phase_s, feed, on_latency=progress.record,
                                         beat_offset_s=beat_offset_s(number, plan.fps)))
    students_gone = asyncio.Event()  # teachers watch until the last student has left, answers drained
    arrivals = Arrivals(len(students))
    try:
        started = loop.time()
        teacher_tasks = [asyncio.ensure_future(teacher.run(students_gone, students)) for teacher in teachers]
        everyone_left = asyncio.gather(*(student.run(stop, arrivals) for student in students))
        progress_task = asyncio.ensure_future(progress.run(stop, started))
        await _either(arrivals.all_in, stop)
        # What the run measures starts now that every socket is open: its time, and the CPU of both processes.
        streaming_from = loop.time()
        server_streaming = sample_process(plan.server_pid) if plan.server_pid is not None else None
        generator_start = sample_self()
        if plan.seconds is not None:
            loop.call_later(plan.seconds, stop.set)
        stopped = asyncio.ensure_future(stop.wait())
        # The end: time is up, Ctrl-C or SIGTERM, or no student is left (the server went, or refused them all).
        await asyncio.wait({everyone_left, stopped}, return_when=asyncio.FIRST_COMPLETED)
        ended = loop.time()
        if plan.server_pid is not None:
            server_samples.append(sample_process(plan.server_pid))  # while the students are still connected
        stop.set()
        await everyone_left
        students_gone.set()
        await asyncio.gather(*teacher_tasks, progress_task, stopped)
    finally:
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signal_number)
    return Report(
        url=plan.url,
        code=plan.code,
        mode="closed loop" if plan.closed_loop else "open loop",
        sends=feed.sends,
        fps=plan.fps,
        duration_s=ended - streaming_from,
        connect_s=streaming_from - started,
        students=[student.stats for student in students],
        teachers=[teacher.stats for teacher in teachers],
        server_pid=plan.server_pid,
        server_samples=server_samples,
        server_streaming=server_streaming,
        generator=(generator_start, sample_self()),
    )
