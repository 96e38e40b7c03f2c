"""`python -m vision analyze|evaluate|bench`: the engine from the command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .decode import FrameError
from .face import FaceAnalyzer
from .media import MediaError, analyze_file
from .model import ModelError
from .tracker import EXPERIMENTAL_STATES

# The shared labelled data: SMARTSESSION_TESTDATA (as for the tests), else ../shared/testdata beside the repo.
DEFAULT_DATA_DIR = Path(
    os.environ.get("SMARTSESSION_TESTDATA") or Path(__file__).resolve().parent.parent.parent / "shared" / "testdata"
)
# The demo clip committed with the load generator (its SOURCE.txt gives the licence), so bench runs on a fresh clone.
DEFAULT_BENCH_VIDEO = Path(__file__).resolve().parent.parent / "classroom" / "simulation" / "clip" / "WolfgangLanger_Pexels.mp4"
# `evaluate --readme FILE` replaces what stands between these two lines of FILE with the report, in a code block.
README_BEGIN = "<!-- vision evaluate: begin (written by python -m vision evaluate --readme docs/vision.md) -->"
README_END = "<!-- vision evaluate: end -->"


def _state_name(state: str) -> str:
    return f"{state} (experimental)" if state in EXPERIMENTAL_STATES else state


def _human_summary(result: dict) -> str:
    summary = result["summary"]
    states = ", ".join(
        f"{_state_name(state)} {seconds:.1f} s" for state, seconds in summary["time_in_state"].items() if seconds
    )
    last = result["frames"][-1]
    lines = [
        f"{result['source']}: {summary['frames']} frames, face in {summary['face_frames']}",
        f"  blinks {summary['blinks']} ({summary['blink_rate_per_min']}/min), mean EAR {summary['mean_ear']}, "
        f"PERCLOS {summary['perclos']:.0%}",
        f"  last state {_state_name(last['state'])} (engagement {last['engagement']}, faces {last['faces']})",
        f"  time in state: {states or 'single frame'}; {summary['ms_per_frame']} ms per frame",
    ]
    return "\n".join(lines)


def cmd_analyze(args: argparse.Namespace) -> int:
    results = []
    with FaceAnalyzer() as analyzer:  # one model load for every path
        for path in args.paths:
            try:
                results.append(analyze_file(Path(path), analyzer, expressions=not args.no_expressions))
            except (MediaError, FrameError) as error:
                print(f"error: {path}: {error}", file=sys.stderr)
                return 1
    if args.json:
        json.dump(results if len(args.paths) > 1 else results[0], sys.stdout)
        sys.stdout.write("\n")
    else:
        print("\n".join(_human_summary(result) for result in results))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import LabelsError, evaluate_all, format_report

    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        print(f"error: no labelled data at {data_dir}", file=sys.stderr)
        return 1
    with FaceAnalyzer() as analyzer:
        try:
            report = evaluate_all(data_dir, analyzer)
        except (LabelsError, MediaError, FrameError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    text = format_report(report)
    print(json.dumps(report) if args.json else text)
    if args.readme:
        try:
            write_readme_block(Path(args.readme), text)
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    return 0


def readme_block(text: str) -> str:
    return f"{README_BEGIN}\n```\n{text}\n```\n{README_END}"


def write_readme_block(path: Path, text: str) -> None:
    """Replace the evaluate block of a README (between README_BEGIN and README_END) with `text`."""
    content = path.read_text()
    start, end = content.find(README_BEGIN), content.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"{path} has no block to replace: it needs the lines {README_BEGIN!r} and {README_END!r}")
    path.write_text(content[:start] + readme_block(text) + content[end + len(README_END):])


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import format_bench, run_bench

    video = Path(args.video)
    if not video.is_file():
        print(f"error: bench needs a face video; {video} not found (use --video PATH)", file=sys.stderr)
        return 1
    report = run_bench(video, frames=args.frames, rounds=args.rounds, workers=args.workers)
    print(json.dumps(report) if args.json else format_bench(report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vision", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    analyze = commands.add_parser("analyze", help="analyze images and videos")
    analyze.add_argument("paths", nargs="+")
    analyze.add_argument("--json", action="store_true", help="one JSON object per path (a list for several)")
    analyze.add_argument("--no-expressions", action="store_true", help="expression-free mode")
    analyze.set_defaults(handler=cmd_analyze)
    evaluate = commands.add_parser("evaluate", help="score the engine on labelled data")
    evaluate.add_argument("data_dir", nargs="?", default=str(DEFAULT_DATA_DIR),
                          help="a folder laid out like the shared test data (see vision/evaluate.py)")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--readme", metavar="FILE", help="also write the report into FILE's evaluate block")
    evaluate.set_defaults(handler=cmd_evaluate)
    bench = commands.add_parser("bench", help="per-frame cost against bare model inference")
    bench.add_argument("--video", default=str(DEFAULT_BENCH_VIDEO))
    bench.add_argument("--frames", type=int, default=40)
    bench.add_argument("--rounds", type=int, default=3)
    bench.add_argument("--workers", type=int, default=int(os.environ.get("VISION_WORKERS") or os.cpu_count() or 1))
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(handler=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
