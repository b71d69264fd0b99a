"""Shared fixtures: the offline engine as a separate server, and paths to real photos."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from services import images
from services.config import Settings
from services.gemini import make_client

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT.parent / "shared" / "photos"


class EngineProcess:
    """The offline engine run as ``python -m services.offline`` in its own process."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.offline", "--port", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "listening on" not in line:
            self.process.kill()
            raise RuntimeError(f"offline engine did not start: {line!r}")
        self.base_url = line.strip().rsplit(" ", 1)[-1]

    def control(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method="POST" if data is not None else "GET",
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def set_faults(self, *faults: dict[str, Any], latency_s: float = 0.0) -> None:
        self.control(
            "/atelier/faults", {"faults": list(faults), "latency_s": latency_s}
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="session")
def engine_process() -> Iterator[EngineProcess]:
    process = EngineProcess()
    yield process
    process.stop()


@pytest.fixture()
def engine(engine_process: EngineProcess) -> Iterator[EngineProcess]:
    """The shared engine with no faults, reset again after the test."""
    engine_process.set_faults()
    yield engine_process
    engine_process.set_faults()


@pytest.fixture()
def settings(engine: EngineProcess) -> Settings:
    return Settings(
        base_url=engine.base_url,
        retry_attempts=4,
        retry_budget_s=20.0,
        request_timeout_s=30.0,
    )


@pytest.fixture()
def client(settings: Settings) -> Iterator[Any]:
    made = make_client(settings)
    yield made
    made.close()


@pytest.fixture()
def client_for() -> Iterator[Any]:
    """Make clients for other settings; each is closed after the test."""
    made: list[Any] = []

    def factory(settings: Settings) -> Any:
        made.append(make_client(settings))
        return made[-1]

    yield factory
    for item in made:
        item.close()


@pytest.fixture(scope="session")
def photos() -> Path:
    if not PHOTOS.is_dir():
        pytest.fail(f"the shared photos are missing: {PHOTOS}")
    return PHOTOS


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


# EXIF orientation -> the transpose that shows the stored pixels upright, written out
# here so tests do not check the studio's own rotation against itself.
UPRIGHT_TRANSPOSE = {
    1: None,
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_270,
    8: Image.Transpose.ROTATE_90,
}


def upright_reference(path: Path) -> np.ndarray:
    """A photo's pixels as a viewer shows them (RGB, int), decoded independently."""
    with Image.open(path) as raw:
        orientation = raw.getexif().get(0x0112, 1)
        transpose = UPRIGHT_TRANSPOSE[orientation]
        rgb = raw.convert("RGB")
    if transpose is not None:
        rgb = rgb.transpose(transpose)
    return np.asarray(rgb).astype(int)


def far_from_mask(mask: np.ndarray) -> np.ndarray:
    """Pixels beyond a mask's feathered edge: an edit must leave them exactly as is."""
    reach = images.feather_reach((mask.shape[1], mask.shape[0])) + 1
    kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), kernel) == 0


def box_mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """A boolean mask of ``size`` (width, height) set inside ``box`` (x0, y0, x1, y1)."""
    mask = np.zeros((size[1], size[0]), dtype=bool)
    mask[box[1] : box[3] + 1, box[0] : box[2] + 1] = True
    return mask


def painted_canvas(
    size: tuple[int, int], box: tuple[int, int, int, int]
) -> dict[str, Any]:
    """What the drawing canvas reports after a stroke over ``box`` on an image shown at
    its own ``size``: set it under the canvas key in AppTest's session_state."""
    drawing = Image.new("RGBA", size, (0, 0, 0, 0))
    drawing.paste((255, 64, 96, 140), box)
    buffer = io.BytesIO()
    drawing.save(buffer, format="PNG")
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return {
        "drawing": {
            "raw": {"objects": [{"type": "path"}]},
            "data": "data:image/png;base64," + encoded,
        },
        "backgroundFit": {
            "naturalWidth": size[0],
            "naturalHeight": size[1],
            "scaleX": 1,
            "scaleY": 1,
            "offsetX": 0,
            "offsetY": 0,
        },
    }


os.environ.setdefault("ATELIER_RAISE_UNEXPECTED", "1")
