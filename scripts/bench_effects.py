"""Benchmark: seconds per offline-engine effect on a 12 MP photo, and for scene rendering.

Run with `make bench` or `python scripts/bench_effects.py`; it prints figures and does
not fail. Target: each effect under 1.5 s on two cores, a 2048² scene under 1 s.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.offline import effects  # noqa: E402

SAMPLE = Path(__file__).resolve().parent.parent / "assets" / "samples" / "coffee.png"


def main() -> None:
    photo = Image.open(SAMPLE).convert("RGB").resize((4032, 3024))
    mask = Image.new("L", photo.size, 0)
    ImageDraw.Draw(mask).rectangle((1500, 1000, 2300, 1700), fill=255)
    total = 0.0
    print(f"{'effect':<18} seconds (4032x3024)")
    for effect in effects.EFFECTS:
        started = time.perf_counter()
        effects.apply_effects(photo, effect.name, mask)
        took = time.perf_counter() - started
        total += took
        print(f"{effect.name:<18} {took:6.2f}")
    print(f"{'all effects':<18} {total:6.2f}")
    for size in ((1024, 1024), (2048, 2048), (4096, 4096)):
        started = time.perf_counter()
        effects.render_scene("a fox in a snowy forest at sunset", size)
        print(f"scene {size[0]}x{size[1]:<8} {time.perf_counter() - started:6.2f}")


if __name__ == "__main__":
    main()
