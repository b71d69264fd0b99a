"""The edit, suggest and improve operations through the real SDK against the offline engine."""

from __future__ import annotations

import io
import logging
import time
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from services import gemini, images, prompts
from services.config import Settings
from services.errors import AtelierError, ErrorCode
from services.sdk_errors import to_atelier_error
from tests.conftest import PHOTOS, EngineProcess, box_mask, far_from_mask


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def edit_cat(client: Any, settings: Settings, prompt: str) -> gemini.ModelAnswer:
    """Edit the cat photo as a whole with ``prompt``."""
    data = (PHOTOS / "chelsea.png").read_bytes()
    return gemini.edit(client, settings, prompt, [gemini.InputImage(data, "cat.png")])


def model_calls(engine: EngineProcess) -> int:
    return sum(
        1
        for request in engine.control("/atelier/requests")["requests"]
        if request["path"].endswith(":generateContent")
    )


def rectangle_mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> bytes:
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rectangle(box, fill=255)
    return png_bytes(mask)


def test_edit_without_mask_returns_the_models_image(
    client, settings, photos: Path
) -> None:
    data = (photos / "chelsea.png").read_bytes()

    answer = gemini.edit(
        client,
        settings,
        "make it black and white",
        [gemini.InputImage(data, "chelsea.png")],
    )

    assert len(answer.images) == 1
    pixels = decode(answer.images[0].data)
    assert (answer.images[0].width, answer.images[0].height) == (451, 300)
    assert np.array_equal(pixels[:, :, 0], pixels[:, :, 1])
    assert np.array_equal(pixels[:, :, 1], pixels[:, :, 2])
    assert pixels.std() > 10


def test_masked_edit_changes_inside_and_keeps_outside_exactly(
    client, settings, photos: Path
) -> None:
    data = (photos / "ladybird.jpg").read_bytes()
    original = decode(images.image_to_png(images.load_image(data, "ladybird.jpg")))
    box = (900, 500, 1500, 1000)
    mask = rectangle_mask((2560, 1600), box)

    answer = gemini.edit(
        client,
        settings,
        "make it black and white",
        [gemini.InputImage(data, "ladybird.jpg")],
        mask,
    )

    result = decode(answer.images[0].data)
    assert result.shape == original.shape
    reach = images.feather_reach((2560, 1600))
    outside = np.ones(original.shape[:2], dtype=bool)
    outside[
        box[1] - reach : box[3] + reach + 1, box[0] - reach : box[2] + reach + 1
    ] = False
    assert np.array_equal(result[outside], original[outside])
    inside = result[box[1] + 5 : box[3] - 5, box[0] + 5 : box[2] - 5]
    assert np.abs(inside[:, :, 0] - inside[:, :, 1]).max() <= 1
    assert (
        np.abs(
            original[box[1] : box[3], box[0] : box[2], 0]
            - original[box[1] : box[3], box[0] : box[2], 1]
        ).mean()
        > 5
    )


def test_masked_remove_fills_the_region_from_its_surroundings(
    client, settings, photos: Path
) -> None:
    data = (photos / "coffee.png").read_bytes()
    box = (250, 150, 330, 230)
    answer = gemini.edit(
        client,
        settings,
        "remove the painted object",
        [gemini.InputImage(data, "coffee.png")],
        rectangle_mask((600, 400), box),
    )
    before = decode(data)
    after = decode(answer.images[0].data)
    assert np.abs(after - before)[box[1] : box[3], box[0] : box[2]].mean() > 1
    outside = far_from_mask(box_mask((600, 400), box))
    assert np.array_equal(after[outside], before[outside])


def test_a_model_answer_of_another_size_is_composited_at_full_resolution() -> None:
    original = Image.new("RGB", (1200, 800), (10, 120, 200))
    answer = Image.new("RGB", (300, 300), (250, 250, 0))
    mask = Image.new("L", original.size, 0)
    ImageDraw.Draw(mask).rectangle((400, 300, 700, 500), fill=255)

    blended = images.composite_masked(original, answer, mask)

    assert blended.size == original.size
    pixels = np.asarray(blended)
    assert tuple(pixels[400, 550]) == (250, 250, 0)
    reach = images.feather_reach(original.size)
    assert tuple(pixels[300 - reach - 1, 550]) == (10, 120, 200)
    assert tuple(pixels[400, 700 + reach + 1]) == (10, 120, 200)


def test_four_phone_photos_fit_one_request(
    client, settings, engine: EngineProcess, photos: Path
) -> None:
    base = images.load_image((photos / "wood_phone_exif6.jpg").read_bytes(), "wood")
    # Sensor-like grain makes the files as large as a phone's (several MB each).
    grain = np.random.default_rng(7).integers(-12, 13, size=(4032, 3024, 3))
    noisy = Image.fromarray(
        np.clip(np.asarray(base, dtype=int) + grain, 0, 255).astype(np.uint8)
    )
    inputs = []
    for index in range(4):
        variant = noisy.rotate(index * 90, expand=True) if index % 2 else noisy
        buffer = io.BytesIO()
        variant.save(buffer, format="JPEG", quality=95)
        inputs.append(gemini.InputImage(buffer.getvalue(), f"phone-{index}.jpg"))
    assert all(len(item.data) > 2_000_000 for item in inputs)

    answer = gemini.edit(client, settings, "make it sepia", inputs)

    assert answer.images
    sent = [
        r
        for r in engine.control("/atelier/requests")["requests"]
        if r["path"].endswith(":generateContent")
    ]
    assert sent[-1]["bytes"] < 20 * 1024 * 1024


def test_text_only_answer_is_no_image_with_the_models_words(
    client, settings, photos: Path
) -> None:
    data = (photos / "chelsea.png").read_bytes()
    with pytest.raises(AtelierError) as caught:
        gemini.edit(
            client,
            settings,
            "write me a poem about it",
            [gemini.InputImage(data, "cat.png")],
        )
    assert caught.value.code is ErrorCode.NO_IMAGE
    assert "offline engine" in caught.value.user_message
    # The model's words are quoted whole, so the advice at their end survives.
    assert "Set GEMINI_API_KEY to use Gemini." in caught.value.user_message


def test_a_long_model_answer_is_cut_at_a_word_with_an_ellipsis() -> None:
    words = " ".join(f"word{number}" for number in range(400))

    cut = prompts.excerpt(words, 100)

    assert len(cut) <= 100
    assert cut.endswith("…")
    assert cut[:-1].split(" ")[-1] in words.split(" ")
    assert prompts.excerpt("short  text\n here", 100) == "short text here"


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("400", ErrorCode.INVALID_INPUT),
        ("401", ErrorCode.AUTH_FAILED),
        ("403", ErrorCode.AUTH_FAILED),
        ("404", ErrorCode.MODEL_NOT_FOUND),
        ("500", ErrorCode.UNAVAILABLE),
        ("503", ErrorCode.UNAVAILABLE),
        ("429", ErrorCode.RATE_LIMITED),
        ("safety", ErrorCode.SAFETY_BLOCKED),
        ("image_safety", ErrorCode.SAFETY_BLOCKED),
        ("409", ErrorCode.GENERATION_FAILED),
        ("prohibited", ErrorCode.SAFETY_BLOCKED),
        ("image_prohibited", ErrorCode.SAFETY_BLOCKED),
        ("image_recitation", ErrorCode.SAFETY_BLOCKED),
        ("image_other", ErrorCode.NO_IMAGE),
        ("blocked_prompt", ErrorCode.SAFETY_BLOCKED),
        ("no_image", ErrorCode.NO_IMAGE),
        ("empty", ErrorCode.NO_IMAGE),
        ("no_parts", ErrorCode.NO_IMAGE),
        ("text_only", ErrorCode.NO_IMAGE),
    ],
)
def test_each_injected_fault_becomes_its_error_code(
    client_for,
    engine: EngineProcess,
    settings: Settings,
    photos: Path,
    fault: str,
    code: ErrorCode,
) -> None:
    quick = Settings(base_url=settings.base_url, retry_attempts=2, retry_budget_s=5)
    client = client_for(quick)
    engine.set_faults({"kind": fault, "delay_s": 0.2})
    data = (photos / "chelsea.png").read_bytes()

    with pytest.raises(AtelierError) as caught:
        gemini.edit(
            client, quick, "make it sepia", [gemini.InputImage(data, "cat.png")]
        )

    assert caught.value.code is code
    assert caught.value.user_message
    assert "{" not in caught.value.user_message


def test_rate_limit_is_retried_after_the_delay_the_server_asks_for(
    engine: EngineProcess, client, settings, photos: Path
) -> None:
    # 2.2 s is neither the first backoff step (1 s) nor a multiple of it.
    engine.set_faults({"kind": "429", "times": 1, "delay_s": 2.2})
    before = model_calls(engine)
    data = (photos / "chelsea.png").read_bytes()

    started = time.monotonic()
    answer = gemini.edit(
        client, settings, "make it sepia", [gemini.InputImage(data, "cat.png")]
    )
    elapsed = time.monotonic() - started

    assert answer.images
    assert 2.1 <= elapsed < 2.9
    assert model_calls(engine) - before == 2


def test_unavailable_is_retried_then_succeeds(
    engine: EngineProcess, client, settings, photos: Path
) -> None:
    engine.set_faults({"kind": "503", "times": 2})
    data = (photos / "chelsea.png").read_bytes()
    answer = gemini.edit(
        client, settings, "invert it", [gemini.InputImage(data, "cat.png")]
    )
    assert answer.images


def test_safety_blocks_are_never_retried(
    engine: EngineProcess, client, settings, photos: Path
) -> None:
    engine.set_faults({"kind": "image_safety"})
    before = model_calls(engine)
    data = (photos / "chelsea.png").read_bytes()
    with pytest.raises(AtelierError):
        gemini.edit(
            client, settings, "make it sepia", [gemini.InputImage(data, "cat.png")]
        )
    assert model_calls(engine) - before == 1


def test_a_rate_limit_asking_for_longer_than_the_budget_fails_at_once(
    client_for, engine: EngineProcess, settings, photos: Path
) -> None:
    tight = Settings(base_url=settings.base_url, retry_attempts=5, retry_budget_s=3)
    engine.set_faults({"kind": "429", "delay_s": 60})
    started = time.monotonic()
    with pytest.raises(AtelierError) as caught:
        edit_cat(client_for(tight), tight, "make it sepia")
    assert caught.value.code is ErrorCode.RATE_LIMITED
    assert caught.value.retry_after == 60
    assert "wait 60 seconds" in caught.value.user_message
    assert time.monotonic() - started < 3


def test_backoff_never_waits_past_the_retry_budget(
    client_for, engine: EngineProcess, settings, photos: Path
) -> None:
    # Backoff waits 1, 2, 4, 8 s; with a 4 s budget only the first two fit.
    tight = Settings(base_url=settings.base_url, retry_attempts=10, retry_budget_s=4)
    engine.set_faults({"kind": "503"})
    before = model_calls(engine)
    started = time.monotonic()
    with pytest.raises(AtelierError) as caught:
        edit_cat(client_for(tight), tight, "make it sepia")
    assert caught.value.code is ErrorCode.UNAVAILABLE
    assert time.monotonic() - started <= 4.0
    assert model_calls(engine) - before == 3


def test_a_slow_answer_past_the_timeout_is_timeout(
    client_for, engine: EngineProcess, settings, photos: Path
) -> None:
    impatient = Settings(base_url=settings.base_url, request_timeout_s=1)
    engine.set_faults({"kind": "slow", "delay_s": 3})
    with pytest.raises(AtelierError) as caught:
        edit_cat(client_for(impatient), impatient, "make it sepia")
    assert caught.value.code is ErrorCode.TIMEOUT


def test_a_refused_connection_is_unavailable(client_for, photos: Path) -> None:
    nowhere = Settings(base_url="http://127.0.0.1:9", retry_attempts=1)
    with pytest.raises(AtelierError) as caught:
        edit_cat(client_for(nowhere), nowhere, "make it sepia")
    assert caught.value.code is ErrorCode.UNAVAILABLE


def test_duplicate_and_thought_images_are_skipped(
    engine: EngineProcess, client, settings, photos: Path
) -> None:
    engine.set_faults({"kind": "duplicate_image"})
    answer = edit_cat(client, settings, "make it sepia")
    # The engine sends a 64×64 grey draft marked as a thought, then the edit twice.
    assert len(answer.images) == 1
    assert (answer.images[0].width, answer.images[0].height) == (451, 300)
    assert decode(answer.images[0].data).std() > 10


def test_an_empty_answer_to_a_text_request_is_a_generation_failure(
    engine: EngineProcess, client, settings, photos: Path
) -> None:
    engine.set_faults({"kind": "empty"})
    with pytest.raises(AtelierError) as caught:
        gemini.suggest_edits(client, settings, (photos / "rocket.jpg").read_bytes())
    assert caught.value.code is ErrorCode.GENERATION_FAILED


def test_offline_preset_search_picks_presets_by_meaning_not_filler_words(
    client, settings
) -> None:
    from services import presets

    catalogue = [(preset.name, preset.summary) for preset in presets.PRESETS]

    old_photo = gemini.pick_presets(
        client, settings, "make it look like an old photo", catalogue
    )
    noise = gemini.pick_presets(client, settings, "less noisy please", catalogue)

    assert set(old_photo[:2]) == {"Sepia", "Vintage postcard"}
    assert noise[0] == "Reduce noise"
    assert gemini.pick_presets(client, settings, "  ", catalogue) == []


def test_improve_prompt_and_suggestions_come_from_the_text_model(
    client, settings, photos: Path
) -> None:
    data = (photos / "rocket.jpg").read_bytes()

    better = gemini.improve_prompt(client, settings, "make it black and white", data)
    ideas = gemini.suggest_edits(client, settings, data)

    assert len(better) > len("make it black and white")
    assert "black and white" in better.lower()
    assert 3 <= len(ideas) <= 6
    assert all(isinstance(idea, str) and idea for idea in ideas)


def test_the_key_never_appears_in_log_lines(
    client_for, engine: EngineProcess, photos: Path, caplog
) -> None:
    secret = "AIzaSy-ATELIER-SECRET-123456"
    keyed = Settings(api_key=secret, base_url=engine.base_url)
    engine.set_faults({"kind": "401"})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AtelierError) as caught:
        edit_cat(client_for(keyed), keyed, "sepia")
    assert secret not in caught.value.user_message + caught.value.detail
    assert not [record for record in caplog.records if secret in record.getMessage()]
    assert any("operation=edit" in record.getMessage() for record in caplog.records)


def test_one_log_line_per_model_call(client, settings, photos: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="services.gemini")
    edit_cat(client, settings, "sepia")
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith("model call")
    ]
    assert len(lines) == 1
    assert (
        "operation=edit" in lines[0]
        and "outcome=OK" in lines[0]
        and "seconds=" in lines[0]
    )


def test_a_safety_block_is_logged_with_its_code(
    engine: EngineProcess, client, settings, photos: Path, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="services.gemini")
    engine.set_faults({"kind": "image_safety"})
    with pytest.raises(AtelierError):
        edit_cat(client, settings, "sepia")
    lines = [r.getMessage() for r in caplog.records if "model call" in r.getMessage()]
    assert len(lines) == 1
    assert "outcome=SAFETY_BLOCKED" in lines[0]


def test_a_programming_mistake_stays_a_plain_exception(settings) -> None:
    def broken() -> None:
        raise AttributeError("no such thing")

    with pytest.raises(AttributeError):
        gemini.call_model(settings, "edit", settings.image_model, broken)


def test_the_key_in_a_server_message_stays_out_of_the_error_detail(
    client_for, engine: EngineProcess, settings, photos: Path
) -> None:
    keyed = Settings(
        base_url=settings.base_url, api_key="AIzaSy-detail-canary-123", retry_attempts=1
    )
    engine.set_faults({"kind": "400", "echo_key": True})
    with pytest.raises(AtelierError) as caught:
        edit_cat(client_for(keyed), keyed, "sepia")
    assert "AIzaSy-detail-canary-123" not in caught.value.detail
    assert "[key]" in caught.value.detail


def test_a_connection_that_times_out_is_unavailable_and_retried() -> None:
    error = to_atelier_error(httpx2.ConnectTimeout("timed out"), "edit")
    assert error is not None and error.code is ErrorCode.UNAVAILABLE
    assert error.is_retryable
    read = to_atelier_error(httpx2.ReadTimeout("timed out"), "edit")
    assert read is not None and read.code is ErrorCode.TIMEOUT
