"""The two WebSockets of a class: students stream frames, teachers watch. Contract: docs/protocol.md."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from vision.decode import FrameError

from . import live
from .alerts import Alert
from .groups import students_group, teachers_group
from .services import AccessDenied, student_access, student_display_name, teacher_access

# How long a teacher's socket collects students' replies (from every server process) before the snapshot.
SNAPSHOT_COLLECT_S = 0.3
CAMERA_CHECK_EVERY_S = 1.0


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class _JsonSocket(AsyncWebsocketConsumer):
    async def send_json(self, payload: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(payload, separators=(",", ":")))

    async def refuse(self, denied: AccessDenied) -> None:
        # Accept first so the page can read why before the close code arrives.
        await self.accept()
        await self.close_because(denied)

    async def close_because(self, denied: AccessDenied) -> None:
        await self.send_json({"type": "error", "code": denied.error_code, "message": denied.message})
        await self.close(code=denied.close_code)


class StudentConsumer(_JsonSocket):
    """ws/student/<code>/: binary messages are frames; text messages are JSON (frame, pause, resume)."""

    async def connect(self) -> None:
        self.code = self.scope["url_route"]["kwargs"]["code"].strip().upper()
        self.live = None
        try:
            membership = await database_sync_to_async(student_access)(user=self.scope["user"], code=self.code)
        except AccessDenied as denied:
            await self.refuse(denied)
            return
        user = self.scope["user"]
        classroom = membership.classroom
        self.code = classroom.join_code
        self.key = (classroom.pk, user.pk)
        self.student = {"id": user.pk, "username": user.get_username(), "display_name": student_display_name(user)}
        loop = asyncio.get_running_loop()
        self.live = live.registry.attach(
            self.key, expressions=classroom.expressions, attention_rules=membership.attention_rules
        )
        self.frames_received = 0
        self.last_frame_at = loop.time()
        self.stream = live.LatestFrameStream(live.vision_pool(), self.live.tracker, self.on_result, self.on_frame_error)
        self.teacher_updates = live.UpdateThrottle(self.send_student_update)
        await self.channel_layer.group_add(students_group(self.code), self.channel_name)
        await self.accept()
        await self.to_teachers("student.joined", {"student": self.status_object()})
        self.watchdog = asyncio.ensure_future(self.watch_camera())

    async def disconnect(self, close_code: int) -> None:
        if self.live is None:
            return
        self.watchdog.cancel()
        self.teacher_updates.cancel()
        await self.stream.close()
        await self.channel_layer.group_discard(students_group(self.code), self.channel_name)
        live.registry.detach(self.key)
        await self.to_teachers("student.left", {"student": self.status_object()})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.live is None:
            return
        if bytes_data is not None:
            await self.accept_frame(bytes_data, client_ts=None, client_number=None)
            return
        try:
            message = json.loads(text_data)
            kind = message.get("type") if isinstance(message, dict) else None
        except ValueError:
            await self.send_error("bad_message", "Messages must be JSON objects or binary frames.")
            return
        if kind == "frame":
            image = message.get("image")
            if not isinstance(image, str):
                await self.send_error("bad_message", "A frame message needs an \"image\": base64 or a data URL.")
                return
            await self.accept_frame(image, client_ts=message.get("ts"), client_number=message.get("frame"))
        elif kind in ("pause", "resume"):
            await self.set_paused(kind == "pause")
        else:
            await self.send_error("bad_message", "Unknown message type; expected frame, pause or resume.")

    async def accept_frame(self, data: bytes | str, *, client_ts: Any, client_number: Any) -> None:
        loop = asyncio.get_running_loop()
        self.frames_received += 1
        number = self.frames_received
        self.last_frame_at = loop.time()
        if self.live.paused:
            await self.set_paused(False)  # sending a frame is resuming
        try:
            t = self.live.clock.time(loop.time(), client_ts)
        except live.BadTimestamp as error:
            await self.send_error(error.code, str(error), frame=number)
            return
        self.stream.submit(live.Frame(number=number, data=data, t=t, client_ts=client_ts))

    async def on_result(self, frame: live.Frame, status: dict[str, Any], skipped: int) -> None:
        feedback = {"type": "feedback", "frame": frame.number, "ts": frame.client_ts, **status, "skipped": skipped}
        self.live.latest = feedback
        self.live.latest_at = asyncio.get_running_loop().time()
        await self.send_json(feedback)
        self.live.recorder.on_status(frame.t, status)
        await self.teacher_updates.offer(self.status_object())
        now = asyncio.get_running_loop().time()
        for alert in self.live.alerts.on_status(now, status["state"], status["face"]):
            await self.send_alert(alert)

    async def on_frame_error(self, frame: live.Frame, error: FrameError) -> None:
        await self.send_error(error.code, str(error), frame=frame.number)

    async def set_paused(self, paused: bool) -> None:
        if self.live.paused == paused:
            return
        self.live.paused = paused
        self.live.recorder.on_paused() if paused else self.live.recorder.on_resumed()
        if paused:
            self.stream.drop_waiting()
        self.last_frame_at = asyncio.get_running_loop().time()
        await self.send_json({"type": "paused" if paused else "resumed"})
        await self.teacher_updates.offer(self.status_object())

    async def watch_camera(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(CAMERA_CHECK_EVERY_S)
            silent_for = loop.time() - self.last_frame_at
            if not self.live.paused and not self.stream.busy:
                for alert in self.live.alerts.on_silence(loop.time(), silent_for):
                    await self.send_alert(alert)

    def status_object(self) -> dict[str, Any]:
        latest = self.live.latest or {}
        fields = {key: value for key, value in latest.items() if key not in ("type", "ts")}
        # An age rather than a time: a teacher's browser clock need not agree with the server's.
        age = None if self.live.latest_at is None else asyncio.get_running_loop().time() - self.live.latest_at
        return {
            **fields,
            **self.student,
            "paused": self.live.paused,
            "attention_rules": self.live.tracker.attention_rules,
            "feedback_age_s": None if age is None else round(age, 1),
            "last_seen": _now_iso(),
        }

    async def send_student_update(self, student: dict[str, Any]) -> None:
        await self.to_teachers("student.update", {"student": student})

    async def send_alert(self, alert: Alert) -> None:
        at = datetime.now(timezone.utc)
        self.live.recorder.on_alert(kind=alert.kind, reason=alert.reason, at=at)
        await self.to_teachers("alert", {"student": self.student, **alert.to_dict(), "time": at.isoformat(timespec="seconds")})

    async def send_error(self, code: str, message: str, *, frame: int | None = None) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, "frame": frame})

    async def to_teachers(self, event_type: str, body: dict[str, Any]) -> None:
        await self.channel_layer.group_send(teachers_group(self.code), {"type": event_type, **body})

    async def snapshot_request(self, event: dict[str, Any]) -> None:
        """A teacher just connected somewhere: tell it where this student stands."""
        await self.channel_layer.send(event["reply_to"], {"type": "snapshot.student", "student": self.status_object()})

    # Changes made on the pages (classroom/services.py) reach a stream in progress through these.

    async def accommodation_changed(self, event: dict[str, Any]) -> None:
        if event["student_id"] == self.student["id"]:
            self.live.tracker.attention_rules = event["attention_rules"]

    async def class_settings(self, event: dict[str, Any]) -> None:
        self.live.tracker.expressions = event["expressions"]

    async def consent_withdrawn(self, event: dict[str, Any]) -> None:
        if event["student_id"] == self.student["id"]:
            await self.close_because(AccessDenied.consent_required())


class TeacherConsumer(_JsonSocket):
    """ws/teacher/<code>/: a snapshot on connect, then student.update/joined/left and alert events."""

    async def connect(self) -> None:
        self.code = self.scope["url_route"]["kwargs"]["code"].strip().upper()
        self.collecting: dict[int, dict] | None = None
        try:
            classroom = await database_sync_to_async(teacher_access)(user=self.scope["user"], code=self.code)
        except AccessDenied as denied:
            self.code = None
            await self.refuse(denied)
            return
        self.code = classroom.join_code
        self.classroom = {"code": classroom.join_code, "name": classroom.name, "expressions": classroom.expressions}
        self.collecting, self.held_back = {}, []
        await self.channel_layer.group_add(teachers_group(self.code), self.channel_name)
        await self.accept()
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

    async def disconnect(self, close_code: int) -> None:
        if self.code is not None:
            self.snapshot_task.cancel()
            await self.channel_layer.group_discard(teachers_group(self.code), self.channel_name)

    async def snapshot_student(self, event: dict[str, Any]) -> None:
        if self.collecting is not None:
            self.collecting[event["student"]["id"]] = event["student"]

    async def forward(self, event: dict[str, Any]) -> None:
        if self.collecting is not None:
            self.held_back.append(event)
            return
        await self.send_json(event)

    async def student_update(self, event: dict[str, Any]) -> None:
        await self.forward(event)

    async def student_joined(self, event: dict[str, Any]) -> None:
        await self.forward(event)

    async def student_left(self, event: dict[str, Any]) -> None:
        await self.forward(event)

    async def alert(self, event: dict[str, Any]) -> None:
        await self.forward(event)
