"""The Edit page under Streamlit's AppTest, with a drawing injected through the canvas key."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from components.image_input import make_tray_image
from components.versions import full_comparison_png
from tests.conftest import EngineProcess, box_mask, far_from_mask, painted_canvas

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def app(engine: EngineProcess, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("GEMINI_BASE_URL", engine.base_url)
    st.cache_resource.clear()  # the studio is cached per process; use this engine
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    return at


def click(at: AppTest, label_start: str) -> None:
    button = next(b for b in at.button if b.label.startswith(label_start))
    button.click().run()
    assert not at.exception, at.exception


def put_sample(at: AppTest, label: str) -> str:
    click(at, label)
    tray = at.session_state["tray_edit"]
    return tray[0].image_id


def test_a_sample_photo_edits_whole_image_and_lands_in_history(app: AppTest) -> None:
    image_id = put_sample(app, "Cat")
    app.text_area(key="edit_prompt").input("make it black and white").run()
    click(app, "Run edit on the whole image")

    history = app.session_state["history"]
    assert len(history.entries) == 1
    entry = history.entries[0]
    result = np.asarray(Image.open(io.BytesIO(entry.data)).convert("RGB")).astype(int)
    assert np.array_equal(result[..., 0], result[..., 2])
    assert entry.page == "edit" and entry.prompt == "make it black and white"
    assert any("451×300" in caption.value for caption in app.caption)
    assert image_id == app.session_state["tray_edit"][0].image_id


def test_an_injected_drawing_limits_the_edit_to_the_painted_area(app: AppTest) -> None:
    image_id = put_sample(app, "Coffee")
    width, height = 600, 400  # the coffee photo fits the canvas at its own size
    app.session_state[f"mask_canvas_{image_id}_0"] = painted_canvas(
        (width, height), (100, 100, 300, 200)
    )
    app.run()
    app.text_area(key="edit_prompt").input("invert").run()
    click(app, "Run edit on the painted area")

    entry = app.session_state["history"].entries[0]
    original = np.asarray(
        Image.open(ROOT / "assets/samples/coffee.png").convert("RGB")
    ).astype(int)
    result = np.asarray(Image.open(io.BytesIO(entry.data)).convert("RGB")).astype(int)
    outside = far_from_mask(box_mask((width, height), (100, 100, 299, 199)))
    assert np.array_equal(result[outside], original[outside])
    # The model saw a JPEG of the photo, so the inverse is close, not exact.
    inverted = 255 - original[110:190, 110:290]
    assert np.abs(result[110:190, 110:290] - inverted).mean() < 4


def test_a_failed_edit_keeps_images_prompt_mask_and_results(
    app: AppTest, engine: EngineProcess
) -> None:
    put_sample(app, "Cat")
    app.text_area(key="edit_prompt").input("make it sepia").run()
    click(app, "Run edit")
    assert len(app.session_state["history"].entries) == 1

    engine.set_faults({"kind": "image_safety"})
    click(app, "Run edit")

    assert any("safety" in error.value.lower() for error in app.error)
    assert len(app.session_state["history"].entries) == 1
    assert app.session_state["edit_prompt"] == "make it sepia"
    assert len(app.session_state["tray_edit"]) == 1


def test_suggestions_fill_the_prompt_and_improve_rewrites_it(app: AppTest) -> None:
    put_sample(app, "Rocket")
    click(app, "Suggest edits")
    ideas = app.session_state[
        f"suggestions_{app.session_state['tray_edit'][0].image_id}"
    ]
    assert ideas
    click(app, ideas[0])
    assert app.session_state["edit_prompt"] == ideas[0]

    click(app, "Improve prompt")
    assert len(app.session_state["edit_prompt"]) > len(ideas[0])


def test_use_as_input_chains_a_second_edit(app: AppTest) -> None:
    put_sample(app, "Cat")
    app.text_area(key="edit_prompt").input("pixelate").run()
    click(app, "Run edit")
    first = app.session_state["history"].entries[0]
    click(app, "Use as input")
    tray = app.session_state["tray_edit"]
    assert tray[0].image_id == hashlib.sha256(first.data).hexdigest()[:16]
    app.text_area(key="edit_prompt").input("invert").run()
    click(app, "Run edit")
    history = app.session_state["history"]
    assert len(history.entries) == 2
    assert history.entries[0].parent_id == first.entry_id


def test_undo_redo_and_branching_walk_the_version_chain(app: AppTest) -> None:
    put_sample(app, "Cat")
    original_id = app.session_state["tray_edit"][0].image_id
    app.text_area(key="edit_prompt").input("pixelate").run()
    click(app, "Run edit")
    first = app.session_state["history"].entries[0]
    click(app, "Use as input")
    app.text_area(key="edit_prompt").input("invert").run()
    click(app, "Run edit")
    second = app.session_state["history"].entries[0]
    assert second.parent_id == first.entry_id

    click(app, "↶ Undo")
    assert app.session_state["edit_shown"]["entry_id"] == first.entry_id
    assert (
        app.session_state["tray_edit"][0].image_id
        == hashlib.sha256(first.data).hexdigest()[:16]
    )
    click(app, "↶ Undo")
    assert app.session_state["edit_shown"] is None
    assert app.session_state["tray_edit"][0].image_id == original_id
    click(app, "↷ Redo")
    assert app.session_state["edit_shown"]["entry_id"] == first.entry_id

    # Branch: a new edit from the first version sits beside the second, not after it.
    app.text_area(key="edit_prompt").input("make it sepia").run()
    click(app, "Run edit")
    branch = app.session_state["history"].entries[0]
    assert branch.parent_id == first.entry_id
    assert len(app.session_state["history"].entries) == 3


def test_comparison_downloads_before_and_after_side_by_side(app: AppTest) -> None:
    put_sample(app, "Coffee")
    app.text_area(key="edit_prompt").input("invert").run()
    click(app, "Run edit")
    app.segmented_control(key="compare_mode").set_value("Slider").run()
    assert not app.exception
    assert any(slider.label.startswith("Before") for slider in app.slider)

    # The download is built only on a click; build it as the click would.
    entry = app.session_state["history"].entries[0]
    source = app.session_state["tray_edit"][0].data
    before = np.asarray(Image.open(io.BytesIO(source)).convert("L")).astype(int)
    both = np.asarray(
        Image.open(io.BytesIO(full_comparison_png(source, entry.data))).convert("L")
    ).astype(int)
    height, width = before.shape
    assert both.shape[0] == height
    assert both.shape[1] > 2 * width
    assert np.abs(both[:, :width] - before).mean() < 2
    assert np.abs(both[:, -width:] - (255 - before)).mean() < 2


def test_a_whole_image_edit_of_a_phone_photo_says_it_came_back_smaller(
    app: AppTest, photos: Path
) -> None:
    data = (photos / "wood_phone_exif6.jpg").read_bytes()
    app.session_state["tray_edit"] = [make_tray_image(data, "wood.jpg", 50_000_000)]
    app.run()
    app.text_area(key="edit_prompt").input("invert").run()
    click(app, "Run edit on the whole image")

    entry = app.session_state["history"].entries[0]
    assert entry.width * entry.height < 3024 * 4032
    notices = [info.value for info in app.info]
    assert any("smaller than the original's 3024×4032" in text for text in notices)


def png_of_colour(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_uploads_say_what_was_left_out_and_why(app: AppTest) -> None:
    uploader = app.file_uploader(key="uploader_edit")
    for number in range(5):
        uploader.upload(f"swatch{number}.png", png_of_colour((number * 40, 0, 0)))
    uploader.upload("broken.jpg", b"\xff\xd8\xff\xe0 not really a jpeg")
    app.run()
    assert not app.exception
    assert [item.name for item in app.session_state["tray_edit"]] == [
        f"swatch{number}.png" for number in range(4)
    ]
    warnings = [warning.value for warning in app.warning]
    assert any("broken.jpg" in text for text in warnings)
    assert any(
        "Only 4 images fit" in text and "swatch4.png" in text for text in warnings
    )

    # Once an image leaves the tray, the "no room" notice goes; the rest stays.
    click(app, "Remove")
    warnings = [warning.value for warning in app.warning]
    assert not any("Only 4 images fit" in text for text in warnings)
    assert len(app.session_state["tray_edit"]) == 3

    # The same picture under another name is named, not silently dropped. (A new
    # uploader handle holds only these two files, as if the others were removed.)
    fresh = app.file_uploader(key="uploader_edit")
    fresh.upload("again.png", png_of_colour((80, 0, 0)))
    fresh.upload("copy.png", png_of_colour((80, 0, 0)))
    app.run()
    warnings = [warning.value for warning in app.warning]
    assert any("“copy.png” (same as “again.png”)" in text for text in warnings)
    assert [item.name for item in app.session_state["tray_edit"]] == ["again.png"]


def test_removing_a_file_from_the_uploader_takes_it_out_of_the_tray(
    app: AppTest,
) -> None:
    uploader = app.file_uploader(key="uploader_edit")
    uploader.upload("red.png", png_of_colour((200, 0, 0)))
    uploader.upload("blue.png", png_of_colour((0, 0, 200)))
    app.run()
    click(app, "Cat")  # a sample: not the uploader's to remove
    assert [item.name for item in app.session_state["tray_edit"]] == [
        "chelsea.png",
        "red.png",
        "blue.png",
    ]

    # The uploader now shows only blue.png: red.png was removed with its ×.
    app.file_uploader(key="uploader_edit").upload(
        "blue.png", png_of_colour((0, 0, 200))
    ).run()

    assert [item.name for item in app.session_state["tray_edit"]] == [
        "chelsea.png",
        "blue.png",
    ]


def test_the_history_cap_setting_drops_the_oldest_results(
    engine: EngineProcess,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("GEMINI_BASE_URL", engine.base_url)
    monkeypatch.setenv("ATELIER_HISTORY_CAP_MB", "1")
    st.cache_resource.clear()
    # The studio built with the 1 MB cap must not serve the tests that follow.
    request.addfinalizer(st.cache_resource.clear)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    put_sample(at, "Coffee")  # each 600×400 PNG result is 0.2 to 0.5 MB
    for prompt in ("make it sepia", "invert", "blur", "make it black and white"):
        at.text_area(key="edit_prompt").input(prompt).run()
        click(at, "Run edit")

    history = at.session_state["history"]
    assert history.cap_bytes == 1024 * 1024
    assert history.total_bytes <= history.cap_bytes
    assert history.dropped >= 1
    assert history.entries[0].prompt == "make it black and white"
    assert any("of 1 MB kept" in caption.value for caption in at.caption)
