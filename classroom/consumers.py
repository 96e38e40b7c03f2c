"""The two WebSockets of a class: students stream frames, teachers watch. Contract: docs/protocol.md.

Thin: a socket authenticates, joins its groups and hands messages on. A student's live rules are in
classroom.live.StudentStream; the channel layer survives Redis outages on its own (classroom.layers).
Whatever way a socket ends (closed by either side, an error, a cancelled task at shutdown), release() runs
once and leaves nothing of it behind: no registry entry, watchdog, timer or group membership.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import DatabaseError

from . import live
from .frames import BadMessage, parse_student_text, parse_teacher_text
from .groups import student_group, students_group, teachers_group
from .services import AccessDenied, student_access, student_display_name, teacher_access

logger = logging.getLogger("smartsession.sockets")

# How long a teacher's socket collects students' replies (from every server process) before the snapshot.
SNAPSHOT_COLLECT_S = 0.3


class _LiveSocket(AsyncWebsocketConsumer):
    role = "live"
    released = False

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._release_once()

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        await self._release_once()
        await super().websocket_disconnect(message)

    async def _release_once(self) -> None:
        if not self.released:
            self.released = True
            try:
                await self.release()
            except Exception:
                logger.exception("releasing %s failed", type(self).__name__)

    async def release(self) -> None:
        """Undo what connect() set up; runs exactly once, however the socket ends."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        # channels closes stale database connections before every message, a thread hop per frame; only a
        # socket's first message (connect) reads the database, through database_sync_to_async, which does it.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def send_json(self, payload: dict[str, Any]) -> None:
        await self.send(text_data=live.dumps(payload))

    async def send_text(self, text: str) -> None:
        await self.send(text_data=text)

    async def pong(self) -> None:
        # The pages' proof that the connection still carries answers (docs/protocol.md, "Connecting").
        await self.send_json({"type": "pong"})

    async def refuse(self, denied: AccessDenied) -> None:
        logger.info("%s socket refused: %s (%s) on %s", self.role, denied.error_code, denied.close_code,
                    self.scope.get("path"), extra={"event": "socket.refused", "code": denied.error_code,
                                                   "close_code": denied.close_code})
        # Accept first so the page can read why before the close code arrives.
        await self.accept()
        await self.close_because(denied)

    async def close_because(self, denied: AccessDenied) -> None:
        await self.send_json({"type": "error", "code": denied.error_code, "message": denied.message})
        await self.close(code=denied.close_code)

    async def checked_access(self, check, **kwargs):
        """The access service's answer, or AccessDenied: the rules, a database that is down, a server stopping."""
        if live.registry.shutting_down:
            raise AccessDenied.restarting()
        if self.scope.get("database_unavailable"):
            raise AccessDenied.unavailable()
        try:
            access = await database_sync_to_async(check)(user=self.scope["user"], **kwargs)
        except DatabaseError:
            logger.warning("database unavailable while opening %s", self.scope.get("path"), exc_info=True)
            raise AccessDenied.unavailable() from None
        if live.registry.shutting_down:  # began while the database answered: this socket would never be closed
            raise AccessDenied.restarting()
        return access


class StudentConsumer(_LiveSocket):
    """ws/student/<code>/: binary messages are frames; text messages are JSON (frame, pause, resume)."""

    role = "student"

    stream: live.StudentStream | None = None
    opened_at = float("inf")  # until connect() has run, no other socket's news concerns this one
    taken_over = False  # by a newer socket of the same student, here or on another server process

    async def connect(self) -> None:
        self.code = self.scope["url_route"]["kwargs"]["code"].strip().upper()
        try:
            membership = await self.checked_access(student_access, code=self.code)
        except AccessDenied as denied:
            await self.refuse(denied)
            return
        user, classroom = self.scope["user"], membership.classroom
        self.code = classroom.join_code
        self.key = (classroom.pk, user.pk)
        self.groups_joined = [students_group(self.code), student_group(self.code, user.pk)]
        self.stream, replaced = live.registry.attach(
            self,
            key=self.key,
            code=self.code,
            student={"id": user.pk, "username": user.get_username(), "display_name": student_display_name(user)},
            expressions=classroom.expressions,
            attention_rules=membership.attention_rules,
            on_device=classroom.on_device,
            frame_fallback=classroom.frame_fallback,
            layer=self.channel_layer,
        )
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        if replaced is not None:
            await replaced.replaced()
        else:
            await self.stream.to_teachers("student.joined", {"student": self.stream.status_object()})
        # A socket of this student on another server process gives way to this one (docs/protocol.md).
        self.opened_at = time.time()
        await self.channel_layer.group_send(
            student_group(self.code, user.pk),
            {"type": "student.socket.opened", "channel": self.channel_name, "opened_at": self.opened_at},
        )

    async def release(self) -> None:
        if self.stream is None:
            return
        # Detach first: leaving the groups waits on Redis, and Daphne cancels a closed socket's consumer after
        # 10 s; a stream left attached to a dead socket would never end its session or tell the teachers.
        left = live.registry.detach(self, self.key)
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if left and not self.taken_over:
            await self.stream.to_teachers("student.left", {"student": self.stream.status_object()})

    @property
    def current(self) -> bool:
        """Still the socket the student's stream answers (not taken over by a newer one, not closed)."""
        return self.stream is not None and self.stream.socket is self

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.current:
            return
        if bytes_data is not None:
            await self.stream.frame(self, bytes_data)
            return
        try:
            message = parse_student_text(text_data)
        except BadMessage as error:
            await self.stream.bad_message(str(error))
            return
        if message.kind == "frame":
            await self.stream.frame(self, message.image, message.ts)
        elif message.kind == "ping":
            await self.pong()
        else:
            await self.stream.set_paused(message.kind == "pause")

    # What live.StudentStream asks of its socket.

    async def replaced(self) -> None:
        self.taken_over = True
        if not self.released:
            await self.close_because(AccessDenied.replaced())

    async def restart(self) -> None:
        if not self.released:
            await self.close_because(AccessDenied.restarting())

    # Channel-layer events.

    async def student_socket_opened(self, event: dict[str, Any]) -> None:
        # Only a newer socket takes over: the news of an older one can arrive late. Wall clocks, because the
        # two sockets may be on two processes (on two machines, their clocks must agree to within a second).
        if event["channel"] != self.channel_name and event["opened_at"] > self.opened_at and self.current:
            # Another process now has this student; the stream here ends after the grace period.
            await self.replaced()

    async def snapshot_request(self, event: dict[str, Any]) -> None:
        """A teacher just connected somewhere: tell it where this student stands."""
        if self.current:
            try:
                await self.channel_layer.send(
                    event["reply_to"], {"type": "snapshot.student", "student": self.stream.status_object()}
                )
            except ChannelFull:
                # The teacher's channel is full (a class of hundreds answering at once, or a teacher far behind):
                # this answer is dropped, not the student's socket; the class's next update brings the student.
                pass

    # Changes made on the pages (classroom/services.py) reach a stream in progress through these.

    async def accommodation_changed(self, event: dict[str, Any]) -> None:
        if self.current and event["student_id"] == self.key[1]:
            self.stream.apply_settings(attention_rules=event["attention_rules"])

    async def class_settings(self, event: dict[str, Any]) -> None:
        if self.current:
            self.stream.apply_settings(expressions=event["expressions"])

    async def class_analysis(self, event: dict[str, Any]) -> None:
        if self.current:
            self.stream.apply_settings(on_device=event["on_device"], frame_fallback=event["frame_fallback"])

    async def consent_withdrawn(self, event: dict[str, Any]) -> None:
        if self.current and event["student_id"] == self.key[1]:
            await self.close_because(AccessDenied.consent_required())


class TeacherConsumer(_LiveSocket):
    """ws/teacher/<code>/: a snapshot on connect, then student.update/joined/left and alert events."""

    role = "teacher"

    code: str | None = None

    async def connect(self) -> None:
        code = self.scope["url_route"]["kwargs"]["code"].strip().upper()
        self.collecting: dict[int, dict] | None = None
        self.held_back: list[dict] = []
        self.snapshot_task: asyncio.Task | None = None
        try:
            classroom = await self.checked_access(teacher_access, code=code)
        except AccessDenied as denied:
            await self.refuse(denied)
            return
        self.code = classroom.join_code
        self.classroom = {"code": classroom.join_code, "name": classroom.name, "expressions": classroom.expressions}
        live.registry.teachers.add(self)
        await self.channel_layer.group_add(teachers_group(self.code), self.channel_name)
        await self.accept()
        if hasattr(self.channel_layer, "on_recovery"):
            # After a Redis outage the picture may be stale (joins and leaves were lost): start again from a snapshot.
            self.channel_layer.on_recovery(self.channel_name, self.ask_for_snapshot)
        await self.ask_for_snapshot()

    async def ask_for_snapshot(self) -> None:
        if self.snapshot_task is not None:
            self.snapshot_task.cancel()
        self.collecting = {}
        await self.channel_layer.group_send(
            students_group(self.code), {"type": "snapshot.request", "reply_to": self.channel_name}
        )
        self.snapshot_task = asyncio.ensure_future(self.send_snapshot_soon())

    async def send_snapshot_soon(self) -> None:
        # Replies come from students on every server process; events meanwhile wait behind the snapshot.
        await asyncio.sleep(SNAPSHOT_COLLECT_S)
        students, self.collecting = list(self.collecting.values()), None
        await self.send_json({"type": "snapshot", "classroom": self.classroom, "students": students})
        held, self.held_back = self.held_back, []
        for event in held:
            await self.forward(event)

    async def release(self) -> None:
        if self.code is None:
            return
        live.registry.teachers.discard(self)
        if self.snapshot_task is not None:
            self.snapshot_task.cancel()
        if hasattr(self.channel_layer, "on_recovery"):
            self.channel_layer.on_recovery(self.channel_name, None)
        await self.channel_layer.group_discard(teachers_group(self.code), self.channel_name)

    async def restart(self) -> None:
        if not self.released:
            await self.close_because(AccessDenied.restarting())

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.code is None or self.released:
            return  # refused, or closing
        try:
            parse_teacher_text(text_data if text_data is not None else "")
        except BadMessage as error:
            await self.send_json({"type": "error", "code": "bad_message", "message": str(error), "frame": None})
            return
        await self.pong()

    async def snapshot_student(self, event: dict[str, Any]) -> None:
        if self.collecting is not None:
            self.collecting[event["student"]["id"]] = event["student"]

    async def forward(self, event: dict[str, Any]) -> None:
        if self.collecting is not None:
            self.held_back.append(event)
            return
        await self.send_json(event)

    async def student_update(self, event: dict[str, Any]) -> None:
        # One student at a time, as processes of an older version send it during a rolling upgrade.
        await self.forward(event)

    async def students_update(self, event: dict[str, Any]) -> None:
        # Batched between processes (classroom.teacher_feed.TeacherFeed); the page gets one student.update per student.
        for student in event["students"]:
            await self.forward({"type": "student.update", "student": student})

    async def student_joined(self, event: dict[str, Any]) -> None:
        await self.forward(event)

    async def student_left(self, event: dict[str, Any]) -> None:
        await self.forward(event)

    async def alert(self, event: dict[str, Any]) -> None:
        await self.forward(event)
