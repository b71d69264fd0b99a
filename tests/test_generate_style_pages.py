"""The Generate and Style Mimic pages under Streamlit's AppTest, on the offline engine."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from services.offline import brain
from services.offline.server import (
    EngineRequest,
    EngineResponse,
    OfflineEngine,
    RunningEngine,
    start_in_thread,
)
from tests.conftest import EngineProcess

ROOT = Path(__file__).resolve().parent.parent


def start_app(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture()
def offline_env(engine: EngineProcess, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("GEMINI_BASE_URL", engine.base_url)
    st.cache_resource.clear()  # the studio is cached per process; use this engine
    return engine.base_url


@pytest.fixture()
def generate_app(offline_env: str) -> AppTest:
    return start_app("pages/generate.py")


@pytest.fixture()
def style_app(offline_env: str) -> AppTest:
    return start_app("pages/style_mimic.py")


def click(at: AppTest, label: str | None = None, key: str | None = None) -> None:
    if key is not None:
        button = at.button(key=key)
    else:
        button = next(b for b in at.button if b.label == label)
    button.click().run()
    assert not at.exception, at.exception


def history(at: AppTest) -> list:
    return list(at.session_state["history"].entries)


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as opened:
        return opened.size


def lab_mean(data: bytes) -> np.ndarray:
    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float32) / 255
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab).reshape(-1, 3).mean(axis=0)


# --- Generate ------------------------------------------------------------------------


def test_generate_makes_the_images_asked_for_and_adds_them_to_history(
    generate_app: AppTest,
) -> None:
    at = generate_app
    at.text_area(key="generate_prompt").input("a lighthouse on a coast at dusk").run()
    at.segmented_control(key="generate_ratio").set_value("16:9").run()
    at.segmented_control(key="generate_count").set_value(2).run()
    click(at, "Generate 2 images")

    entries = history(at)
    assert len(entries) == 2
    for entry in entries:
        assert entry.page == "generate"
        assert entry.prompt == "a lighthouse on a coast at dusk"
        assert (entry.width, entry.height) == (1344, 768)
        assert size_of(entry.data) == (1344, 768)
    assert entries[0].data != entries[1].data
    captions = [caption.value for caption in at.caption]
    assert any("Image 1 · 1344×768 px · 16:9" in text for text in captions)
    assert any("2 of 2 made" in text for text in captions)
    assert not at.warning
    assert len(at.get("download_button")) >= 2


def test_a_2k_square_is_twice_the_1k_size(generate_app: AppTest) -> None:
    at = generate_app
    at.text_area(key="generate_prompt").input("a planet in space").run()
    at.segmented_control(key="generate_size").set_value("2K").run()
    click(at, "Generate 1 image")

    (entry,) = history(at)
    assert (entry.width, entry.height) == (2048, 2048)


def test_one_blocked_image_of_three_shows_its_error_beside_the_others(
    generate_app: AppTest, engine: EngineProcess
) -> None:
    at = generate_app
    engine.set_faults({"kind": "image_safety", "times": 1})
    at.text_area(key="generate_prompt").input("a city skyline at night").run()
    at.segmented_control(key="generate_count").set_value(3).run()
    click(at, "Generate 3 images")

    assert len(history(at)) == 2
    assert len(at.error) == 1
    assert "safety" in at.error[0].value.lower()
    texts = [block.value for block in at.markdown]
    assert sum("failed" in text for text in texts) == 1
    assert any("2 of 3 made" in caption.value for caption in at.caption)


def test_improve_prompt_rewrites_the_prompt_for_a_new_image(
    generate_app: AppTest,
) -> None:
    at = generate_app
    at.text_area(key="generate_prompt").input("a fox in the snow").run()
    click(at, "Improve prompt")

    improved = at.session_state["generate_prompt"]
    assert improved.startswith("A fox in the snow.")
    assert len(improved) > len("a fox in the snow") + 40


def test_an_example_fills_the_prompt(generate_app: AppTest) -> None:
    at = generate_app
    click(at, key="generate_example_0")

    assert at.session_state["generate_prompt"] == "A fox in a snowy forest at sunset"
    # With a prompt written, the examples make way for it.
    assert not any(b.key == "generate_example_0" for b in at.button)


def test_a_result_goes_on_to_style_mimic_as_its_content(
    generate_app: AppTest,
) -> None:
    at = generate_app
    at.text_area(key="generate_prompt").input("tulips in a meadow").run()
    click(at, "Generate 1 image")
    (entry,) = history(at)

    click(at, key=f"generate_{entry.entry_id}_use_style_mimic")

    content = at.session_state["tray_style_mimic"][0]
    assert content.data == entry.data
    assert at.title[0].value == "Style Mimic"
    # AppTest stays on the page it last switched to itself, so follow explicitly.
    at.switch_page("pages/style_mimic.py").run()
    click(at, key="sample_style_mimic_style_coffee.png")
    click(at, "Describe the style")
    click(at, "Apply the style")
    assert history(at)[0].parent_id == entry.entry_id


def ignore_the_ratio(engine: OfflineEngine, request: EngineRequest) -> EngineResponse:
    """Answer as the engine does, but as a model that drops imageConfig would."""
    body = dict(request.body or {})
    body["generationConfig"] = {
        key: value
        for key, value in (body.get("generationConfig") or {}).items()
        if key != "imageConfig"
    }
    request.body = body
    return brain.generate_content(engine, request)


@pytest.fixture()
def square_engine_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    """The studio against an engine whose image model always answers square."""
    running: RunningEngine = start_in_thread()
    pattern = re.compile(r"/v1(?:beta|alpha)?/models/(?P<model>[^/:]+):generateContent")
    running.engine.routes.insert(0, ("POST", pattern, ignore_the_ratio))
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("GEMINI_BASE_URL", running.base_url)
    # The studio is cached per process; rebuild it for this engine, and after the test
    # for whatever engine the next test uses.
    st.cache_resource.clear()
    yield start_app("pages/generate.py")
    st.cache_resource.clear()
    running.stop()


def test_a_model_that_ignores_the_ratio_is_reported_not_hidden(
    square_engine_app: AppTest,
) -> None:
    at = square_engine_app
    at.text_area(key="generate_prompt").input("a harbour at dusk").run()
    at.segmented_control(key="generate_ratio").set_value("16:9").run()
    click(at, "Generate 1 image")

    (entry,) = history(at)
    assert (entry.width, entry.height) == (1024, 1024)
    assert len(at.warning) == 1
    assert "asked 16:9, got 1:1" in at.warning[0].value


# --- Style Mimic ---------------------------------------------------------------------


def pick_samples(at: AppTest, content: str, style: str) -> None:
    click(at, key=f"sample_style_mimic_{content}")
    click(at, key=f"sample_style_mimic_style_{style}")


def test_describe_then_apply_restyles_the_content_and_records_it(
    style_app: AppTest,
) -> None:
    at = style_app
    pick_samples(at, "rocket.jpg", "coffee.png")
    assert at.button(key="style_mimic_apply").disabled

    click(at, "Describe the style")
    described = at.session_state["style_mimic_description"]
    assert "palette" in described
    edited = described + " Keep it moody."
    at.text_area(key="style_mimic_description").input(edited).run()
    at.text_input(key="style_mimic_note").input("only the colours").run()
    click(at, "Apply the style")

    (entry,) = history(at)
    assert entry.page == "style_mimic"
    assert entry.prompt == f"{edited} (note: only the colours)"
    assert (entry.width, entry.height) == (640, 427)
    content = (ROOT / "assets/samples/rocket.jpg").read_bytes()
    style = (ROOT / "assets/samples/coffee.png").read_bytes()
    before = np.linalg.norm(lab_mean(content) - lab_mean(style))
    after = np.linalg.norm(lab_mean(entry.data) - lab_mean(style))
    assert after < before * 0.35
    assert any("not AI" in caption.value for caption in at.caption)
    assert len(at.get("download_button")) >= 2


def test_an_uploaded_content_and_an_earlier_result_as_style(
    style_app: AppTest, photos: Path
) -> None:
    at = style_app
    pick_samples(at, "chelsea.png", "astronaut.png")
    click(at, "Describe the style")
    click(at, "Apply the style")
    (first,) = history(at)

    upload = (photos / "rocket.jpg").read_bytes()
    at.file_uploader(key="uploader_style_mimic").set_value(
        ("rocket.jpg", upload, "image/jpeg")
    ).run()
    click(at, key=f"earlier_style_mimic_style_{first.entry_id}")
    assert at.session_state["tray_style_mimic"][0].name == "rocket.jpg"
    assert at.session_state["tray_style_mimic_style"][0].data == first.data
    # The description was written for the astronaut, not for the new style image.
    assert any("different style image" in text.value for text in at.caption)

    click(at, "Describe the style")
    click(at, "Apply the style")
    entries = history(at)
    assert len(entries) == 2
    assert (entries[0].width, entries[0].height) == (640, 427)


def test_an_earlier_result_as_content_keeps_its_lineage(style_app: AppTest) -> None:
    at = style_app
    pick_samples(at, "coffee.png", "astronaut.png")
    click(at, "Describe the style")
    click(at, "Apply the style")
    (first,) = history(at)

    click(at, key=f"earlier_style_mimic_{first.entry_id}")
    click(at, "Apply the style")

    second = history(at)[0]
    assert second.parent_id == first.entry_id


def test_a_blocked_apply_keeps_the_inputs_and_shows_why(
    style_app: AppTest, engine: EngineProcess
) -> None:
    at = style_app
    pick_samples(at, "rocket.jpg", "chelsea.png")
    click(at, "Describe the style")
    engine.set_faults({"kind": "image_safety", "match": "Repaint"})
    click(at, "Apply the style")

    assert "safety" in at.error[0].value.lower()
    assert history(at) == []
    assert at.session_state["style_mimic_description"]
    assert at.session_state["tray_style_mimic"][0].name == "rocket.jpg"


def test_a_file_that_is_not_an_image_is_refused_in_words(style_app: AppTest) -> None:
    at = style_app
    at.file_uploader(key="uploader_style_mimic_style").set_value(
        ("notes.png", b"not really a picture", "image/png")
    ).run()

    assert "tray_style_mimic_style" not in at.session_state
    assert any("notes.png" in warning.value for warning in at.warning)


def test_typed_prompt_and_settings_survive_a_visit_elsewhere(
    generate_app: AppTest, style_app: AppTest
) -> None:
    generate_app.text_area(key="generate_prompt").input("a harbour at night").run()
    generate_app.button_group(key="generate_ratio").set_value("16:9").run()
    generate_app.switch_page("pages/edit.py").run()
    generate_app.switch_page("pages/generate.py").run()
    assert generate_app.text_area(key="generate_prompt").value == "a harbour at night"
    assert generate_app.button_group(key="generate_ratio").value == "16:9"

    style_app.text_input(key="style_mimic_note").input("only the colours").run()
    style_app.text_area(key="style_mimic_description").input("teal and orange").run()
    style_app.switch_page("pages/video.py").run()
    style_app.switch_page("pages/style_mimic.py").run()
    assert style_app.text_input(key="style_mimic_note").value == "only the colours"
    assert style_app.text_area(key="style_mimic_description").value == "teal and orange"
    assert not generate_app.exception and not style_app.exception
