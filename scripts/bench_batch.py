"""Benchmark: the wall time of a batch of 6 edits against one edit at 1 s latency.

Starts the offline engine as its own process with a fixed latency per answer, times
one edit, then a batch of six at the default concurrency bound and with six slots
(and, for comparison, other bounds), and prints the figures; each is the best of a
few runs, since other work on the machine only ever adds time. The target is a batch
of 6 in at most 1.3x the time of one call: with the default bound of 4 that takes two
rounds of calls, so only a bound of 6 or more can meet it, and the script says so.
Run with ``make bench`` or ``python scripts/bench_batch.py``.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from google import genai  # noqa: E402

from services import batch, gemini  # noqa: E402
from services.config import Settings  # noqa: E402

SAMPLE = ROOT / "assets" / "samples" / "chelsea.png"
TARGET_RATIO = 1.3


def start_engine(latency_s: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.offline",
            "--port",
            "0",
            "--latency",
            str(latency_s),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise SystemExit(f"the offline engine did not start: {line!r}")
    return process, line.strip().rsplit(" ", 1)[-1]


def time_one(
    client: genai.Client, settings: Settings, image: gemini.InputImage
) -> float:
    started = time.monotonic()
    gemini.edit(client, settings, "invert", [image])
    return time.monotonic() - started


def time_batch(
    client: genai.Client,
    settings: Settings,
    image: gemini.InputImage,
    size: int,
    concurrency: int | None,
) -> float:
    source = batch.BatchSource(image, 451, 300)
    prompts = [f"invert {number}" for number in range(size)]
    items = batch.plan_batch([source], prompts).items
    started = time.monotonic()
    outcomes = list(batch.run_batch(client, settings, items, concurrency))
    wall = time.monotonic() - started
    failed = [outcome for outcome in outcomes if not outcome.ok]
    if failed:
        raise SystemExit(f"{len(failed)} batch items failed; the figures mean nothing")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--size", type=int, default=6)
    parser.add_argument(
        "--compare",
        type=int,
        nargs="*",
        default=[1, 2, 4, 6, 8],
        help="other concurrency bounds to time for comparison",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per figure; the best is kept"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    process, base_url = start_engine(args.latency)
    settings = Settings(base_url=base_url)
    # One long-lived client, as the studio has; the first calls warm its connections.
    client = gemini.make_client(settings)
    try:
        image = gemini.InputImage(SAMPLE.read_bytes(), SAMPLE.name)
        time_batch(client, settings, image, args.size, args.size)
        one = min(time_one(client, settings, image) for _ in range(args.repeat))
        default = settings.batch_concurrency

        def ratio_of(bound: int) -> float:
            wall = min(
                time_batch(client, settings, image, args.size, bound)
                for _ in range(args.repeat)
            )
            return wall / one

        print(f"engine latency          {args.latency:.1f} s per answer")
        print(f"one call                {one:.2f} s (best of {args.repeat})")
        # The default bound is what a user gets; a batch larger than it needs more
        # than one round of calls, so it cannot come near one call's time.
        for label, bound in (
            (f"default concurrency {default}", default),
            (
                f"concurrency {args.size} (ATELIER_BATCH_CONCURRENCY={args.size})",
                args.size,
            ),
        ):
            ratio = ratio_of(bound)
            verdict = "meets" if ratio <= TARGET_RATIO else "misses"
            print(
                f"batch of {args.size}, {label}: {ratio:.2f}x one call; "
                f"target <= {TARGET_RATIO}x {verdict}"
            )
        for bound in args.compare:
            if bound in (default, args.size):
                continue
            print(
                f"  batch of {args.size}, concurrency {bound}: {ratio_of(bound):.2f}x"
            )
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


if __name__ == "__main__":
    main()
