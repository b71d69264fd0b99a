"""Make one video end to end from the command line, to check a key or the engine by hand.

Run from the repository root: ``python -m scripts.video_smoke --out clip.mp4``. With
no key and no ``GEMINI_BASE_URL`` it starts the offline engine in this process.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from services import video
from services.config import load_settings
from services.errors import AtelierError
from services.gemini import make_client
from services.offline.server import start_in_thread

logger = logging.getLogger("video_smoke")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.video_smoke")
    parser.add_argument("--prompt", default="a slow pan across a quiet harbour")
    parser.add_argument("--image", type=Path, help="start image (optional)")
    parser.add_argument("--aspect", choices=video.VIDEO_ASPECT_RATIOS, default="16:9")
    parser.add_argument("--duration", type=int, choices=video.VIDEO_DURATIONS)
    parser.add_argument("--resolution", choices=video.VIDEO_RESOLUTIONS)
    parser.add_argument("--negative", help="negative prompt (Enterprise mode only)")
    parser.add_argument("--out", type=Path, default=Path("video_smoke.mp4"))
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    settings = load_settings()
    engine = None
    if settings.is_offline and not settings.base_url:
        engine = start_in_thread()
        settings = settings.with_engine_url(engine.base_url)

    try:
        client = make_client(settings)
        request = video.VideoRequest(
            prompt=args.prompt,
            start_image=args.image.read_bytes() if args.image else None,
            aspect_ratio=args.aspect,
            duration_s=args.duration,
            resolution=args.resolution,
            negative_prompt=args.negative,
        )
        job_id = video.start_video(client, settings, request)
        logger.info("started %s on the %s engine", job_id, settings.engine)

        deadline = time.monotonic() + args.timeout
        status = video.video_status(client, settings, job_id)
        while not status.is_finished and time.monotonic() < deadline:
            logger.info("%s progress=%s", status.state, status.progress)
            time.sleep(2.0)
            status = video.video_status(client, settings, job_id)
    except AtelierError as error:
        logger.error("%s: %s (%s)", error.code.value, error.user_message, error.detail)
        return 1
    finally:
        if engine is not None:
            engine.stop()

    if status.state != "done" or status.video is None:
        logger.error("%s: %s %s", status.state, status.message, status.filter_reasons)
        return 1
    args.out.write_bytes(status.video)
    logger.info("wrote %s (%d bytes)", args.out, len(status.video))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
