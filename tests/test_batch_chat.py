"""Batch and chat services through the real SDK against the offline engine."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from google import genai
from google.genai import chats, types
from PIL import Image

from services import batch, chat, gemini, images
from services.config import Settings
from services.errors import AtelierError, ErrorCode
from tests.conftest import EngineProcess, box_mask, far_from_mask


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def source(photos: Path, name: str) -> batch.BatchSource:
    data = (photos / name).read_bytes()
    width, height = images.load_image(data, name).size
    return batch.BatchSource(gemini.InputImage(data, name), width, height)


def model_requests(engine: EngineProcess, since: float) -> list[dict[str, Any]]:
    return [
        request
        for request in engine.control("/atelier/requests")["requests"]
        if request["path"].endswith(":generateContent") and request["time"] >= since
    ]


def run_all(
    client: genai.Client,
    settings: Settings,
    job: batch.BatchJob,
    items: Sequence[batch.BatchItem],
    concurrency: int | None = None,
) -> batch.BatchJob:
    for outcome in batch.run_batch(client, settings, items, concurrency):
        job = job.with_outcome(outcome)
    return job


PROMPTS = ["make it black and white", "poison: make it sepia", "invert", "pixelate"]


# --- planning -----------------------------------------------------------------------


def test_one_photo_with_several_prompts_makes_one_item_per_prompt(photos) -> None:
    plan = batch.plan_batch([source(photos, "chelsea.png")], PROMPTS)

    assert [item.prompt for item in plan.items] == PROMPTS
    assert len({item.item_id for item in plan.items}) == len(PROMPTS)
    assert {item.image.name for item in plan.items} == {"chelsea.png"}


def test_several_photos_and_several_prompts_are_refused(photos) -> None:
    sources = [source(photos, "chelsea.png"), source(photos, "coffee.png")]

    with pytest.raises(AtelierError) as raised:
        batch.plan_batch(sources, ["invert", "sepia"])

    assert raised.value.code is ErrorCode.INVALID_INPUT
    assert "one photo with several prompts" in raised.value.user_message


def test_a_mask_goes_only_with_photos_of_the_painted_photos_size(photos) -> None:
    cat = source(photos, "chelsea.png")
    same_size = batch.BatchSource(
        gemini.InputImage(images.image_to_png(Image.new("RGB", (451, 300))), "b.png"),
        451,
        300,
    )
    other = source(photos, "coffee.png")
    mask = images.image_to_png(Image.new("L", (451, 300), 255))

    plan = batch.plan_batch([cat, same_size, other], ["invert"], mask)

    assert [item.mask_png is not None for item in plan.items] == [True, True, False]
    assert plan.unmasked == ("coffee.png",)


def test_prompt_lines_skip_blank_lines() -> None:
    assert batch.prompt_lines("  sepia \n\n invert\n  ") == ["sepia", "invert"]


# --- running ------------------------------------------------------------------------


def test_a_safety_block_fails_only_its_own_item(
    client, settings, engine: EngineProcess, photos
) -> None:
    engine.set_faults({"kind": "safety", "match": "poison", "times": -1})
    plan = batch.plan_batch([source(photos, "chelsea.png")], PROMPTS)

    job = run_all(client, settings, batch.BatchJob(plan.items), plan.items)

    assert len(job.finished) == 4
    blocked = [outcome for outcome in job.finished if not outcome.ok]
    assert [outcome.item.prompt for outcome in blocked] == [PROMPTS[1]]
    assert blocked[0].error is not None
    assert blocked[0].error.code is ErrorCode.SAFETY_BLOCKED
    assert blocked[0].error.__traceback__ is None
    for outcome in job.succeeded:
        assert outcome.answer is not None
        result = outcome.answer.images[0]
        assert (result.width, result.height) == (451, 300)


def test_retry_failed_runs_only_the_failed_items(
    client, settings, engine: EngineProcess, photos
) -> None:
    engine.set_faults({"kind": "safety", "match": "poison", "times": -1})
    plan = batch.plan_batch([source(photos, "chelsea.png")], PROMPTS)
    job = run_all(client, settings, batch.BatchJob(plan.items), plan.items)
    assert [item.prompt for item in job.failed] == [PROMPTS[1]]
    kept = {outcome.item.item_id: outcome for outcome in job.succeeded}

    engine.set_faults()
    started = time.time()
    job = run_all(client, settings, job, job.failed)

    assert len(model_requests(engine, started)) == 1
    assert job.failed == []
    assert len(job.succeeded) == 4
    for item_id, outcome in kept.items():
        assert job.outcomes[item_id] is outcome
    sepia = job.outcomes[plan.items[1].item_id]
    assert sepia.answer is not None
    pixels = decode(sepia.answer.images[0].data)
    assert (pixels[..., 0] >= pixels[..., 2]).mean() > 0.9


def test_an_interrupted_item_counts_as_failed(photos) -> None:
    plan = batch.plan_batch([source(photos, "chelsea.png")], ["invert", "sepia"])
    job = batch.BatchJob(plan.items)

    assert job.failed == list(plan.items)
    assert job.finished == []


def test_zip_holds_each_image_and_a_manifest_for_every_item(
    client, settings, engine: EngineProcess, photos
) -> None:
    engine.set_faults({"kind": "safety", "match": "poison", "times": -1})
    plan = batch.plan_batch([source(photos, "chelsea.png")], PROMPTS)
    job = run_all(client, settings, batch.BatchJob(plan.items), plan.items)

    label = "offline engine (gemini-3.1-flash-image)"
    archive = zipfile.ZipFile(io.BytesIO(batch.batch_zip(job.finished, label)))

    manifest = json.loads(archive.read("manifest.json"))
    assert [record["prompt"] for record in manifest] == PROMPTS
    assert [record["outcome"] for record in manifest] == [
        "OK",
        "SAFETY_BLOCKED",
        "OK",
        "OK",
    ]
    assert "safety" in manifest[1]["message"].lower()
    assert "file" not in manifest[1]
    original = decode((photos / "chelsea.png").read_bytes())
    for record in manifest:
        assert record["model"] == label
        assert record["source"] == "chelsea.png"
        if record["outcome"] != "OK":
            continue
        assert record["size"] == "451x300"
        pixels = decode(archive.read(record["file"]))
        assert pixels.shape == original.shape
        assert np.abs(pixels - original).mean() > 5, record["prompt"]
    assert sorted(archive.namelist()) == sorted(
        ["manifest.json"] + [r["file"] for r in manifest if "file" in r]
    )
    assert manifest[0]["file"].startswith("01-chelsea-make-it-black-and-white")


def test_job_zip_numbers_items_as_shown_and_marks_those_not_run(
    client, settings, photos
) -> None:
    plan = batch.plan_batch([source(photos, "chelsea.png")], ["sepia", "invert"])
    job = run_all(client, settings, batch.BatchJob(plan.items), plan.items[1:])

    archive = zipfile.ZipFile(io.BytesIO(batch.job_zip(job, "m")))

    manifest = json.loads(archive.read("manifest.json"))
    assert [(r["item"], r["prompt"], r["outcome"]) for r in manifest] == [
        (1, "sepia", "NOT_RUN"),
        (2, "invert", "OK"),
    ]
    assert manifest[1]["file"].startswith("02-chelsea-invert")
    assert archive.namelist() == [manifest[1]["file"], "manifest.json"]


def test_masked_batch_changes_only_the_painted_area(client, settings, photos) -> None:
    cat = source(photos, "chelsea.png")
    mask = Image.new("L", (451, 300), 0)
    mask.paste(255, (150, 80, 300, 220))
    plan = batch.plan_batch(
        [cat], ["invert", "make it black and white"], images.image_to_png(mask)
    )

    job = run_all(client, settings, batch.BatchJob(plan.items), plan.items)

    original = decode(cat.image.data)
    outside = far_from_mask(box_mask((451, 300), (150, 80, 299, 219)))
    for outcome in job.succeeded:
        assert outcome.answer is not None
        pixels = decode(outcome.answer.images[0].data)
        assert np.array_equal(pixels[outside], original[outside])
        assert np.abs(pixels[120:180, 190:260] - original[120:180, 190:260]).mean() > 20
    assert len(job.succeeded) == 2


def test_concurrency_bound_is_respected(
    client_for, settings, engine: EngineProcess, photos
) -> None:
    engine.set_faults(latency_s=1.0)
    # A small photo keeps the engine's own work well under its one-second latency.
    tiny = Image.open(io.BytesIO((photos / "chelsea.png").read_bytes())).resize(
        (120, 80)
    )
    data = images.image_to_png(tiny.convert("RGB"))
    one = batch.BatchSource(gemini.InputImage(data, "tiny.png"), 120, 80)
    plan = batch.plan_batch([one], [f"invert {n}" for n in range(6)])
    client = client_for(settings)

    started_at = time.time()
    started = time.monotonic()
    job = run_all(client, settings, batch.BatchJob(plan.items), plan.items, 2)
    wall = time.monotonic() - started

    assert len(job.succeeded) == 6
    # Three waves of two: never faster than 3 s, well under the 6 s of one at a time.
    assert 2.9 <= wall < 5.5
    arrivals = sorted(request["time"] for request in model_requests(engine, started_at))
    assert len(arrivals) == 6
    # Each request is held a full second, so three arriving within 0.9 s would
    # mean three were running at once.
    for index in range(len(arrivals) - 2):
        assert arrivals[index + 2] - arrivals[index] > 0.9


def test_concurrency_defaults_to_the_setting_and_never_exceeds_the_items() -> None:
    settings = Settings(batch_concurrency=3)

    assert batch.workers_for(settings, 6) == 3
    assert batch.workers_for(settings, 2) == 2
    assert batch.workers_for(settings, 6, concurrency=5) == 5
    assert batch.workers_for(settings, 0) == 1


# --- chat ---------------------------------------------------------------------------


def mean_light(data: bytes) -> float:
    return float(decode(data).mean())


def three_turns(
    client: genai.Client, settings: Settings
) -> tuple[chats.Chat, gemini.ModelAnswer, gemini.ModelAnswer, gemini.ModelAnswer]:
    conversation = chat.start_chat(client, settings)
    fox = chat.send(settings, conversation, "make a poster of a fox")
    night = chat.send(settings, conversation, "now make it night")
    tall = chat.send(settings, conversation, "crop to 9:16")
    return conversation, fox, night, tall


def test_three_turns_where_the_third_edits_the_seconds_image(client, settings) -> None:
    conversation, fox, night, tall = three_turns(client, settings)

    assert len(fox.images) == len(night.images) == len(tall.images) == 1
    fox_image, night_image, tall_image = fox.images[0], night.images[0], tall.images[0]
    assert (night_image.width, night_image.height) == (
        fox_image.width,
        fox_image.height,
    )
    assert mean_light(night_image.data) < mean_light(fox_image.data) * 0.8
    assert tall_image.width / tall_image.height == pytest.approx(9 / 16, abs=0.01)
    assert tall_image.height == night_image.height

    # The crop is the middle of the night picture, pixel for pixel.
    night_pixels = decode(night_image.data)
    left = (night_image.width - tall_image.width) // 2
    expected = night_pixels[:, left : left + tall_image.width]
    assert np.array_equal(decode(tall_image.data), expected)
    assert chat.history_length(conversation) == 6


def test_regenerate_keeps_the_signatures(client, settings, engine) -> None:
    conversation, _, night, tall = three_turns(client, settings)

    again = chat.rewound(client, settings, conversation, 1)
    regenerated = chat.send(settings, again, "crop to 9:16")

    assert regenerated.images[0].data == tall.images[0].data
    assert chat.history_length(again) == 6


def test_edit_and_resend_an_earlier_message_works_on_the_right_image(
    client, settings
) -> None:
    conversation, fox, _, _ = three_turns(client, settings)

    before_second = chat.rewound_to(client, settings, conversation, 2)
    sepia = chat.send(settings, before_second, "now make it sepia")
    tall = chat.send(settings, before_second, "crop to 9:16")

    pixels = decode(sepia.images[0].data)
    assert (pixels[..., 0] >= pixels[..., 2]).mean() > 0.9
    assert decode(tall.images[0].data).shape[:2] == (1024, 576)
    assert chat.history_length(before_second) == 6


def test_a_chat_rebuilt_from_saved_pictures_is_refused(client, settings) -> None:
    _, fox, _, _ = three_turns(client, settings)
    # What a naive app does: replay the turns from the PNGs it kept.
    rebuilt = chat.start_chat(
        client,
        settings,
        history=[
            types.Content(
                role="user", parts=[types.Part(text="make a poster of a fox")]
            ),
            types.Content(
                role="model",
                parts=[
                    types.Part.from_bytes(
                        data=fox.images[0].data, mime_type="image/png"
                    )
                ],
            ),
        ],
    )

    with pytest.raises(AtelierError) as raised:
        chat.send(settings, rebuilt, "now make it night")

    assert raised.value.code is ErrorCode.INVALID_INPUT


def test_variants_answer_from_the_same_point_and_each_continues(
    client, settings
) -> None:
    conversation = chat.start_chat(client, settings)

    replies = chat.send_variants(
        client,
        settings,
        conversation,
        "make a poster of a fox",
        count=3,
        seeds=[None, 7, 8],
    )

    assert len(replies) == 3
    pictures = [reply.answer.images[0].data for reply in replies]
    assert len(set(pictures)) == 3
    assert chat.history_length(conversation) == 0
    continued = chat.send(settings, replies[2].chat, "crop to 9:16")
    left = (1024 - 576) // 2
    assert np.array_equal(
        decode(continued.images[0].data), decode(pictures[2])[:, left : left + 576]
    )


def test_variants_keep_what_arrived_when_some_fail(
    client, settings, engine: EngineProcess
) -> None:
    engine.set_faults({"kind": "image_safety", "times": 1})
    conversation = chat.start_chat(client, settings)

    replies = chat.send_variants(
        client, settings, conversation, "make a poster of a fox", count=2
    )

    assert len(replies) == 1


def test_a_blocked_message_raises_and_leaves_the_chat_as_it_was(
    client, settings, engine: EngineProcess
) -> None:
    conversation = chat.start_chat(client, settings)
    chat.send(settings, conversation, "make a poster of a fox")
    engine.set_faults({"kind": "safety", "match": "poison"})

    with pytest.raises(AtelierError) as raised:
        chat.send_variants(client, settings, conversation, "poison it", count=2)

    assert raised.value.code is ErrorCode.SAFETY_BLOCKED
    assert chat.history_length(conversation) == 2
    engine.set_faults()
    night = chat.send(settings, conversation, "now make it night")
    assert night.images


def test_attached_photo_is_edited_in_the_chat(client, settings, photos) -> None:
    conversation = chat.start_chat(client, settings)
    data = (photos / "chelsea.png").read_bytes()

    answer = chat.send(
        settings,
        conversation,
        "make it black and white",
        [gemini.InputImage(data, "chelsea.png")],
    )

    pixels = decode(answer.images[0].data)
    assert pixels.shape[:2] == (300, 451)
    assert np.array_equal(pixels[..., 0], pixels[..., 2])


def test_a_question_gets_words_and_no_image(client, settings) -> None:
    conversation = chat.start_chat(client, settings)

    answer = chat.send(settings, conversation, "what can you do?")

    assert not answer.images
    assert "offline engine" in answer.text


def test_an_empty_message_is_refused(client, settings) -> None:
    with pytest.raises(AtelierError) as raised:
        chat.send(settings, chat.start_chat(client, settings), "  ")

    assert raised.value.code is ErrorCode.INVALID_INPUT
