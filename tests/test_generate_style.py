"""Generate and style mimic through the real SDK against the offline engine."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from services import gemini
from services.config import Settings
from services.errors import AtelierError, ErrorCode
from services.offline import brain
from services.offline.server import (
    EngineRequest,
    EngineResponse,
    OfflineEngine,
    RunningEngine,
    start_in_thread,
)
from tests.conftest import EngineProcess

# What Gemini image models answer at 1K for each ratio: none is exact, all are close.
GEMINI_1K_SIZES = {
    "1:1": (1024, 1024),
    "2:3": (832, 1248),
    "3:2": (1248, 832),
    "3:4": (864, 1184),
    "4:3": (1184, 864),
    "9:16": (768, 1344),
    "16:9": (1344, 768),
    "21:9": (1536, 672),
}


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def lab_mean(data: bytes) -> np.ndarray:
    rgb = pixels(data).astype(np.float32) / 255.0
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab).reshape(-1, 3).mean(axis=0)


def generate_requests_since(engine: EngineProcess, since: float) -> list[dict]:
    return [
        request
        for request in engine.control("/atelier/requests")["requests"]
        if request["path"].endswith(":generateContent") and request["time"] >= since
    ]


# --- generate ------------------------------------------------------------------------


@pytest.mark.parametrize("ratio", gemini.ASPECT_RATIOS)
def test_generate_answers_in_the_requested_ratio(client, settings, ratio) -> None:
    answer = gemini.generate(client, settings, "a lighthouse on a coast", ratio, "1K")

    (image,) = answer.images
    assert (image.width, image.height) == GEMINI_1K_SIZES[ratio]
    assert pixels(image.data).shape[:2] == (image.height, image.width)
    assert gemini.ratio_mismatch(ratio, image.width, image.height) is None
    assert gemini.ratio_name(image.width, image.height) == ratio


@pytest.mark.parametrize(("size", "factor"), [("2K", 2), ("4K", 4)])
def test_larger_sizes_scale_the_1k_pixels(client, settings, size, factor) -> None:
    answer = gemini.generate(client, settings, "mountains at dawn", "16:9", size)

    image = answer.images[0]
    assert (image.width, image.height) == (1344 * factor, 768 * factor)
    assert gemini.ratio_mismatch("16:9", image.width, image.height) is None


def test_generate_many_makes_the_count_asked_for_and_they_differ(
    client, settings
) -> None:
    outcomes = gemini.generate_many(
        client, settings, "a fox in a snowy forest", "3:2", "1K", 3
    )

    assert len(outcomes) == 3
    assert all(outcome.error is None and outcome.answer for outcome in outcomes)
    pictures = [pixels(outcome.answer.images[0].data) for outcome in outcomes]
    assert all(picture.shape == (832, 1248, 3) for picture in pictures)
    # Three requests of one prompt are three pictures, not one picture three times.
    assert np.abs(pictures[0].astype(int) - pictures[1].astype(int)).mean() > 2
    assert np.abs(pictures[1].astype(int) - pictures[2].astype(int)).mean() > 2


def test_generate_many_sends_its_requests_at_the_same_time(
    client, settings, engine: EngineProcess
) -> None:
    engine.set_faults(latency_s=1.0)
    started = time.time()

    outcomes = gemini.generate_many(client, settings, "a desert", "1:1", "1K", 4)

    assert all(outcome.answer for outcome in outcomes)
    arrivals = sorted(r["time"] for r in generate_requests_since(engine, started))
    assert len(arrivals) == 4
    # One after another they would arrive at least a second apart.
    assert arrivals[-1] - arrivals[0] < 0.8


def test_a_safety_block_on_one_of_four_fails_only_that_one(
    client, settings, engine: EngineProcess
) -> None:
    engine.set_faults({"kind": "image_safety", "times": 1})

    outcomes = gemini.generate_many(
        client, settings, "a city skyline at night", "9:16", "1K", 4
    )

    failed = [outcome for outcome in outcomes if outcome.error is not None]
    made = [outcome for outcome in outcomes if outcome.answer is not None]
    assert len(failed) == 1 and len(made) == 3
    assert failed[0].error.code is ErrorCode.SAFETY_BLOCKED
    assert failed[0].answer is None
    assert all(
        (o.answer.images[0].width, o.answer.images[0].height) == (768, 1344)
        for o in made
    )


def test_a_passing_server_error_is_retried_and_all_four_arrive(
    client, settings, engine: EngineProcess
) -> None:
    engine.set_faults({"kind": "503", "times": 1})

    outcomes = gemini.generate_many(client, settings, "tulips", "4:3", "1K", 4)

    assert all(outcome.answer is not None for outcome in outcomes)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("  ", "1:1", "1K", 2), "Describe the image"),
        (("a cat", "5:3", "1K", 2), "5:3"),
        (("a cat", "1:1", "8K", 2), "8K"),
        (("a cat", "1:1", "1K", 0), "between 1 and 4"),
        (("a cat", "1:1", "1K", 5), "between 1 and 4"),
    ],
)
def test_generate_many_refuses_unusable_requests_before_sending(
    client, settings, engine: EngineProcess, arguments, message
) -> None:
    started = time.time()

    with pytest.raises(AtelierError) as caught:
        gemini.generate_many(client, settings, *arguments)

    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert message in caught.value.user_message
    assert generate_requests_since(engine, started) == []


def test_improve_generation_prompt_keeps_the_words_and_adds_detail(
    client, settings
) -> None:
    better = gemini.improve_generation_prompt(
        client, settings, "a fox in a snowy forest at sunset"
    )

    assert better.startswith("A fox in a snowy forest at sunset.")
    assert len(better) > 80
    # An edit instruction ("keep the rest unchanged") would make no sense here.
    assert "unchanged" not in better and "original" not in better


def test_improved_prompt_draws_the_same_scene(client, settings) -> None:
    better = gemini.improve_generation_prompt(client, settings, "a city at night")

    plain = brain.effects.read_scene("a city at night", 0)
    improved = brain.effects.read_scene(better, 0)
    assert improved.features == plain.features
    assert improved.time_of_day == plain.time_of_day


# --- the ratio check -----------------------------------------------------------------


@pytest.mark.parametrize(("ratio", "size"), list(GEMINI_1K_SIZES.items()))
def test_the_models_own_rounding_is_not_reported(ratio, size) -> None:
    assert gemini.ratio_mismatch(ratio, *size) is None
    assert gemini.ratio_mismatch(ratio, size[0] * 4, size[1] * 4) is None


@pytest.mark.parametrize(
    ("asked", "size", "report"),
    [
        ("16:9", (1024, 1024), "asked 16:9, got 1:1"),
        ("9:16", (1344, 768), "asked 9:16, got 16:9"),
        ("3:4", (896, 1152), "asked 3:4, got 4:5"),
        ("21:9", (1344, 768), "asked 21:9, got 16:9"),
        ("1:1", (1000, 300), "asked 1:1, got 1000×300"),
    ],
)
def test_an_ignored_ratio_is_reported_by_name(asked, size, report) -> None:
    assert gemini.ratio_mismatch(asked, *size) == report


def test_a_sizeless_image_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        gemini.ratio_mismatch("1:1", 0, 10)


def ignore_the_ratio(engine: OfflineEngine, request: EngineRequest) -> EngineResponse:
    """Answer as the engine does, but as a model that drops imageConfig would."""
    body = dict(request.body or {})
    config = dict(body.get("generationConfig") or {})
    config.pop("imageConfig", None)
    body["generationConfig"] = config
    request.body = body
    return brain.generate_content(engine, request)


@pytest.fixture()
def square_engine() -> Iterator[RunningEngine]:
    """An in-process engine whose image model always answers square."""
    running = start_in_thread()
    pattern = re.compile(r"/v1(?:beta|alpha)?/models/(?P<model>[^/:]+):generateContent")
    running.engine.routes.insert(0, ("POST", pattern, ignore_the_ratio))
    yield running
    running.stop()


def test_a_model_that_ignores_the_ratio_is_caught(
    client_for, square_engine: RunningEngine
) -> None:
    settings = Settings(base_url=square_engine.base_url, retry_attempts=1)
    client = client_for(settings)

    outcomes = gemini.generate_many(client, settings, "a harbour", "16:9", "1K", 2)

    for outcome in outcomes:
        image = outcome.answer.images[0]
        assert (image.width, image.height) == (1024, 1024)
        assert gemini.ratio_mismatch("16:9", image.width, image.height) == (
            "asked 16:9, got 1:1"
        )


# --- style mimic ---------------------------------------------------------------------


def test_describe_style_puts_the_look_into_words(
    client, settings, photos: Path
) -> None:
    words = gemini.describe_style(
        client, settings, (photos / "coffee.png").read_bytes()
    )

    assert "palette" in words
    assert re.search(r"\b(warm|cool|neutral)\b", words, re.IGNORECASE)


def test_apply_style_moves_the_colours_toward_the_style(
    client, settings, photos: Path
) -> None:
    content = (photos / "rocket.jpg").read_bytes()
    style = (photos / "coffee.png").read_bytes()
    description = gemini.describe_style(client, settings, style)

    answer = gemini.apply_style(
        client,
        settings,
        gemini.InputImage(content, "rocket.jpg"),
        gemini.InputImage(style, "coffee.png"),
        description,
    )

    (result,) = answer.images
    assert (result.width, result.height) == (640, 427)
    before = np.linalg.norm(lab_mean(content) - lab_mean(style))
    after = np.linalg.norm(lab_mean(result.data) - lab_mean(style))
    assert before > 20
    assert after < before * 0.35
    assert "not AI" in answer.text


def test_a_gentle_note_moves_the_colours_less(client, settings, photos: Path) -> None:
    content = gemini.InputImage((photos / "chelsea.png").read_bytes(), "chelsea.png")
    style = gemini.InputImage((photos / "astronaut.png").read_bytes(), "astronaut.png")
    description = gemini.describe_style(client, settings, style.data)

    full = gemini.apply_style(client, settings, content, style, description)
    gentle = gemini.apply_style(
        client, settings, content, style, description, note="keep the faces"
    )

    moved_full = np.linalg.norm(lab_mean(full.images[0].data) - lab_mean(content.data))
    moved_gentle = np.linalg.norm(
        lab_mean(gentle.images[0].data) - lab_mean(content.data)
    )
    assert moved_full > 5
    assert moved_gentle < moved_full * 0.75


def test_a_safety_block_on_apply_is_reported_plainly(
    client, settings, engine: EngineProcess, photos: Path
) -> None:
    engine.set_faults({"kind": "image_safety", "match": "Repaint"})
    content = gemini.InputImage((photos / "rocket.jpg").read_bytes(), "rocket.jpg")
    style = gemini.InputImage((photos / "coffee.png").read_bytes(), "coffee.png")

    with pytest.raises(AtelierError) as caught:
        gemini.apply_style(client, settings, content, style, "warm and grainy")

    assert caught.value.code is ErrorCode.SAFETY_BLOCKED
