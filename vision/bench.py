"""Per-frame cost: decode, bare model inference and our own analysis, on one thread and on several.

Every stage of one frame's path is timed on its own, so "bare inference" is the very model call the path
makes and machine noise cannot land on one side of the ratio only.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .decode import decode_frame
from .face import FaceAnalyzer
from .media import read_frames
from .model import load_model_bytes
from .tracker import StudentTracker

SIZES = ((640, 480), (320, 240))
# The student page sends JPEG at about this quality.
JPEG_QUALITY = 70


def sample_jpegs(video: Path, size: tuple[int, int], count: int) -> list[bytes]:
    frames = [rgb for _, _, rgb in read_frames(video)]
    step = max(1, len(frames) // count)
    chosen = frames[::step][:count]
    return [
        cv2.imencode(".jpg", cv2.cvtColor(cv2.resize(rgb, size), cv2.COLOR_RGB2BGR),
                     [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes()
        for rgb in chosen
    ]


def _single_thread(analyzer: FaceAnalyzer, jpegs: list[bytes], rounds: int) -> dict[str, float]:
    """Each stage of the real path timed on its own; "model" is the very detect() call the path makes."""
    decode_s, model_s, ours_s = [], [], []
    tracker = StudentTracker()
    t = 0.0
    for jpeg in jpegs[:3]:  # warm-up
        analyzer.analyze(decode_frame(jpeg))
    for _ in range(rounds):
        for jpeg in jpegs:
            started = time.perf_counter()
            rgb = decode_frame(jpeg)
            decoded = time.perf_counter()
            result = analyzer.detect(rgb)
            inferred = time.perf_counter()
            t += 0.1
            tracker.update(t, analyzer.analysis_from_result(rgb, result))
            finished = time.perf_counter()
            decode_s.append(decoded - started)
            model_s.append(inferred - decoded)
            ours_s.append(finished - inferred)
    decode_ms = 1000 * statistics.fmean(decode_s)
    model_ms = 1000 * statistics.fmean(model_s)
    ours_ms = 1000 * statistics.fmean(ours_s)
    whole_ms = decode_ms + model_ms + ours_ms
    return {
        "decode_ms": round(decode_ms, 2),
        "inference_ms": round(model_ms, 2),
        "our_analysis_ms": round(ours_ms, 2),
        "whole_ms": round(whole_ms, 2),
        "ratio_whole_to_inference": round(whole_ms / model_ms, 3),
    }


def throughput(model: bytes, jpegs: list[bytes], workers: int, rounds: int, whole: bool) -> float:
    """Frames per second with `workers` threads, each with its own landmarker (calls release the GIL)."""
    local = threading.local()
    analyzers: list[FaceAnalyzer] = []
    lock = threading.Lock()
    decoded = [decode_frame(jpeg) for jpeg in jpegs]

    def analyzer() -> FaceAnalyzer:
        if not hasattr(local, "analyzer"):
            local.analyzer = FaceAnalyzer(model)
            with lock:
                analyzers.append(local.analyzer)
        return local.analyzer

    def work(index: int) -> None:
        if whole:
            analyzer().analyze(decode_frame(jpegs[index % len(jpegs)]))
        else:
            analyzer().detect(decoded[index % len(decoded)])

    total = rounds * len(jpegs)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(work, range(workers * 2)))  # create and warm every thread's landmarker
        started = time.perf_counter()
        list(pool.map(work, range(total)))
        elapsed = time.perf_counter() - started
    for item in analyzers:
        item.close()
    return total / elapsed


def run_bench(video: Path, *, frames: int = 40, rounds: int = 3, workers: int | None = None) -> dict[str, Any]:
    workers = workers or int(os.environ.get("VISION_WORKERS") or os.cpu_count() or 1)
    model = load_model_bytes()
    report: dict[str, Any] = {"video": str(video), "frames": frames, "rounds": rounds, "workers": workers, "sizes": {}}
    with FaceAnalyzer(model) as analyzer:
        for width, height in SIZES:
            jpegs = sample_jpegs(video, (width, height), frames)
            single = _single_thread(analyzer, jpegs, rounds)
            single["jpeg_bytes"] = int(np.mean([len(jpeg) for jpeg in jpegs]))
            single[f"inference_fps_{workers}_threads"] = round(throughput(model, jpegs, workers, rounds, False), 1)
            single[f"whole_fps_{workers}_threads"] = round(throughput(model, jpegs, workers, rounds, True), 1)
            report["sizes"][f"{width}x{height}"] = single
    return report


def format_bench(report: dict[str, Any]) -> str:
    workers = report["workers"]
    lines = [f"{report['frames']} frames x {report['rounds']} rounds from {report['video']}; JPEG quality {JPEG_QUALITY}",
             f"{'size':<10}{'jpeg KB':>8}{'decode':>8}{'model':>8}{'ours':>8}{'whole':>8}{'ratio':>7}"
             f"{'model fps':>11}{'whole fps':>11}",
             f"{'':<10}{'':>8}{'ms':>8}{'ms':>8}{'ms':>8}{'ms':>8}{'':>7}{f'{workers} thr':>11}{f'{workers} thr':>11}"]
    for size, row in report["sizes"].items():
        lines.append(
            f"{size:<10}{row['jpeg_bytes'] / 1024:>8.1f}{row['decode_ms']:>8.2f}{row['inference_ms']:>8.2f}"
            f"{row['our_analysis_ms']:>8.2f}{row['whole_ms']:>8.2f}{row['ratio_whole_to_inference']:>7.3f}"
            f"{row[f'inference_fps_{workers}_threads']:>11.1f}{row[f'whole_fps_{workers}_threads']:>11.1f}"
        )
    lines.append("ratio = (decode + model + our analysis and tracking) / bare model inference, one thread")
    return "\n".join(lines)
