"""The naive reference design, for the capacity benchmark only (issue 12); never part of SmartSession itself.

What the project was first described with: FastAPI on uvicorn, and a WebSocket that takes the student page's JSON
text frame `{"type": "frame", "image": "<base64 JPEG>"}`, decodes it and runs the face model and the tracker right
in the async handler, then answers a JSON result per frame. No accounts, no database, no channel layer, no
teachers. Inference on the event loop is the point: it is the design that our server's vision threads, binary
frames and "latest frame wins" are measured against, in the same run (`make bench`, docs/performance.md).

    .venv/bin/uvicorn bench.naive_server:app --port 8001 --ws websockets-sansio
    .venv/bin/python manage.py simulate_class --naive http://127.0.0.1:8001 --students 10 --fps 5

Its answers have the shape of our feedback (docs/protocol.md), so simulate_class reads them the same way. FastAPI
and uvicorn are test-only dependencies (requirements-dev.txt).
"""

from __future__ import annotations

import json
import time

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from vision.decode import FrameError, decode_frame
from vision.face import FaceAnalyzer
from vision.tracker import StudentTracker

app = FastAPI(title="Naive reference server (benchmark only)")
# One landmarker for the process: every handler runs on the one event-loop thread, so no two calls overlap.
_analyzer: FaceAnalyzer | None = None


def analyzer() -> FaceAnalyzer:
    global _analyzer
    if _analyzer is None:
        _analyzer = FaceAnalyzer()
    return _analyzer


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.websocket("/ws/student/{code}/")
async def student(websocket: WebSocket, code: str) -> None:
    """Any code, anyone: a frame in, the model and the tracker inline, a JSON answer out."""
    await websocket.accept()
    tracker = StudentTracker()
    started = time.monotonic()
    number = 0
    try:
        while True:
            text = await websocket.receive_text()
            number += 1
            began = time.perf_counter()
            try:
                message = json.loads(text)
                rgb = decode_frame(message["image"])
                status = tracker.update(time.monotonic() - started, analyzer().analyze(rgb))
            except (FrameError, ValueError, KeyError, TypeError) as error:
                await websocket.send_json({"type": "error", "code": getattr(error, "code", "bad_message"),
                                           "message": str(error), "frame": number})
                continue
            await websocket.send_json({"type": "feedback", "frame": number, **status.to_dict(), "skipped": 0,
                                       "processing_ms": round(1000 * (time.perf_counter() - began), 1)})
    except WebSocketDisconnect:
        pass
