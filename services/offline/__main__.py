"""Run the offline engine by hand: ``python -m services.offline --port 8765``."""

from __future__ import annotations

import argparse
import logging

from services.offline.faults import FAULT_KINDS, FaultPlan, FaultRule
from services.offline.server import make_server


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m services.offline",
        description="Serve the offline engine on 127.0.0.1.",
        epilog="fault kinds: " + ", ".join(sorted(FAULT_KINDS)),
    )
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds added to each answer"
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND",
        help="inject this fault (repeatable); see the kinds below",
    )
    parser.add_argument(
        "--fault-times", type=int, default=-1, help="how often; -1 = always"
    )
    parser.add_argument(
        "--fault-match", default="", help="only prompts containing this text"
    )
    parser.add_argument(
        "--retry-delay", type=float, default=2.0, help="delay a 429 asks for"
    )
    parser.add_argument(
        "--video-seconds", type=float, default=8.0, help="how long a video job takes"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    unknown = [kind for kind in args.fault if kind not in FAULT_KINDS]
    if unknown:
        raise SystemExit(f"unknown fault kind(s): {', '.join(unknown)}")
    plan = FaultPlan(
        latency_s=args.latency,
        video_seconds=args.video_seconds,
        rules=[
            FaultRule(
                kind,
                times=args.fault_times,
                match=args.fault_match,
                delay_s=args.retry_delay,
            )
            for kind in args.fault
        ],
    )
    server = make_server(args.port, plan)
    # Printed (not logged) and flushed so a parent process can read the port.
    print(
        f"offline engine listening on http://127.0.0.1:{server.server_address[1]}",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
