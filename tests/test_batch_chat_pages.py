"""The Batch and Chat pages under Streamlit's AppTest, against the offline engine."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.conftest import EngineProcess, box_mask, far_from_mask, painted_canvas

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "assets" / "samples"


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def open_page(engine: EngineProcess, monkeypatch: pytest.MonkeyPatch, page: str):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("GEMINI_BASE_URL", engine.base_url)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture()
def batch_app(engine: EngineProcess, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return open_page(engine, monkeypatch, "pages/batch.py")


@pytest.fixture()
def chat_app(engine: EngineProcess, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    return open_page(engine, monkeypatch, "pages/chat.py")


def click(at: AppTest, label_start: str, index: int = 0) -> None:
    buttons = [b for b in at.button if b.label.startswith(label_start)]
    assert buttons, f"no button starting {label_start!r}"
    buttons[index].click().run()
    assert not at.exception, at.exception


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [w.value for w in at.warning]
    parts += [i.value for i in at.info]
    return "\n".join(str(part) for part in parts)


# --- Batch --------------------------------------------------------------------------


def run_batch_of(at: AppTest, prompts: str) -> None:
    at.text_area(key="batch_prompts").input(prompts).run()
    count = len([line for line in prompts.splitlines() if line.strip()])
    click(at, f"Run {count} edits")


def test_batch_runs_every_prompt_on_the_photo_and_fills_the_history(
    batch_app: AppTest,
) -> None:
    click(batch_app, "Cat")
    run_batch_of(batch_app, "make it black and white\nsepia\npixelate")

    job = batch_app.session_state["batch_job"]
    assert len(job.succeeded) == 3
    history = batch_app.session_state["history"]
    assert [entry.page for entry in history.entries] == ["batch"] * 3
    assert {entry.prompt for entry in history.entries} == {
        "make it black and white",
        "sepia",
        "pixelate",
    }
    assert texts(batch_app).count("✅ **Done** · 451×300") == 3
    assert any(b.label == "Download ZIP" for b in batch_app.get("download_button"))


def test_a_safety_block_fails_one_item_and_retry_runs_only_that_one(
    batch_app: AppTest, engine: EngineProcess
) -> None:
    engine.set_faults({"kind": "safety", "match": "poison", "times": -1})
    click(batch_app, "Cat")
    run_batch_of(batch_app, "invert\npoison sepia\nblur")

    job = batch_app.session_state["batch_job"]
    assert len(job.succeeded) == 2
    assert [item.prompt for item in job.failed] == ["poison sepia"]
    assert any("safety" in error.value.lower() for error in batch_app.error)
    kept = dict(job.outcomes)

    engine.set_faults()
    click(batch_app, "Retry failed (1)")

    job = batch_app.session_state["batch_job"]
    assert job.failed == []
    for item_id, outcome in kept.items():
        if outcome.ok:
            assert job.outcomes[item_id] is outcome
    assert len(batch_app.session_state["history"].entries) == 3
    assert not batch_app.error


def test_a_mask_is_applied_to_photos_of_the_same_size_and_others_are_named(
    batch_app: AppTest,
) -> None:
    click(batch_app, "Coffee")
    click(batch_app, "Cat")  # samples go first in the tray: Cat is the painted one
    batch_app.toggle(key="batch_use_mask").set_value(True).run()
    cat = batch_app.session_state["tray_batch"][0]
    assert (cat.width, cat.height) == (451, 300)
    batch_app.session_state[f"mask_canvas_{cat.image_id}_0"] = painted_canvas(
        (451, 300), (150, 80, 300, 220)
    )
    batch_app.run()
    batch_app.text_area(key="batch_prompts").input("invert").run()

    assert "2 edits (2 photos × 1 prompt), 1 with the mask" in texts(batch_app)
    assert "“coffee.png”" in texts(batch_app)
    click(batch_app, "Run 2 edits")

    job = batch_app.session_state["batch_job"]
    by_name = {o.item.image.name: o for o in job.succeeded}
    cat_result = decode(by_name["chelsea.png"].answer.images[0].data)
    cat_original = decode((SAMPLES / "chelsea.png").read_bytes())
    outside = far_from_mask(box_mask((451, 300), (150, 80, 299, 219)))
    assert np.array_equal(cat_result[outside], cat_original[outside])
    inside = np.abs(
        cat_result[110:190, 180:270] - (255 - cat_original[110:190, 180:270])
    )
    assert inside.mean() < 6
    coffee_result = decode(by_name["coffee.png"].answer.images[0].data)
    coffee_original = decode((SAMPLES / "coffee.png").read_bytes())
    assert np.abs(coffee_result[:50] - (255 - coffee_original[:50])).mean() < 6
    assert job.unmasked == ("coffee.png",)


def test_presets_add_prompt_lines(batch_app: AppTest) -> None:
    batch_app.text_area(key="batch_prompts").input("invert").run()
    click(batch_app, "Sepia")
    click(batch_app, "Black and white")

    lines = batch_app.session_state["batch_prompts"].splitlines()
    assert len(lines) == 3 and lines[0] == "invert"
    assert "sepia" in lines[1].lower()


def test_several_photos_with_several_prompts_explains_and_does_not_run(
    batch_app: AppTest,
) -> None:
    click(batch_app, "Cat")
    click(batch_app, "Rocket")
    batch_app.text_area(key="batch_prompts").input("invert\nsepia").run()

    assert any("one photo with several prompts" in w.value for w in batch_app.warning)
    run = next(b for b in batch_app.button if b.label.startswith("Run"))
    assert run.disabled


def test_results_and_prompts_survive_a_page_switch(batch_app: AppTest) -> None:
    click(batch_app, "Cat")
    run_batch_of(batch_app, "invert\nsepia")
    job = batch_app.session_state["batch_job"]

    batch_app.switch_page("pages/edit.py").run()
    batch_app.switch_page("pages/batch.py").run()

    assert not batch_app.exception
    assert batch_app.session_state["batch_job"] is job
    assert batch_app.text_area(key="batch_prompts").value == "invert\nsepia"
    assert texts(batch_app).count("✅ **Done**") == 2


def test_the_mask_switch_and_the_painted_mask_survive_a_page_switch(
    batch_app: AppTest,
) -> None:
    click(batch_app, "Cat")
    batch_app.toggle(key="batch_use_mask").set_value(True).run()
    cat = batch_app.session_state["tray_batch"][0]
    batch_app.session_state[f"mask_canvas_{cat.image_id}_0"] = painted_canvas(
        (451, 300), (150, 80, 300, 220)
    )
    batch_app.run()
    batch_app.text_area(key="batch_prompts").input("invert\nsepia").run()
    assert "2 with the mask" in texts(batch_app)

    batch_app.switch_page("pages/edit.py").run()
    batch_app.switch_page("pages/batch.py").run()

    assert batch_app.toggle(key="batch_use_mask").value is True
    assert "2 edits (1 photo × 2 prompts), 2 with the mask" in texts(batch_app)
    # A change made after coming back is the one that counts.
    batch_app.toggle(key="batch_use_mask").set_value(False).run()
    assert "with the mask" not in texts(batch_app)


# --- Chat ---------------------------------------------------------------------------


def say(at: AppTest, text: str) -> None:
    at.chat_input[0].set_value(text).run()
    assert not at.exception, at.exception


def exchanges(at: AppTest) -> list:
    return list(at.session_state["chat_exchanges"])


def picture(exchange, variant: int = 0) -> np.ndarray:
    return decode(exchange.replies[variant].entries[0].data)


def test_three_turns_make_edit_and_crop_a_picture(chat_app: AppTest) -> None:
    for text in ("make a poster of a fox", "now make it night", "crop to 9:16"):
        say(chat_app, text)

    fox, night, tall = (picture(exchange) for exchange in exchanges(chat_app))
    assert fox.shape == night.shape == (1024, 1024, 3)
    assert night.mean() < fox.mean() * 0.8
    assert tall.shape == (1024, 576, 3)
    assert np.array_equal(tall, night[:, 224:800])
    history = chat_app.session_state["history"]
    assert [entry.page for entry in history.entries] == ["chat"] * 3
    assert not chat_app.error


def test_regenerate_replaces_the_last_answer_and_the_chat_goes_on(
    chat_app: AppTest,
) -> None:
    say(chat_app, "make a poster of a fox")
    say(chat_app, "now make it night")
    first = exchanges(chat_app)[-1]

    click(chat_app, "Regenerate")

    after = exchanges(chat_app)
    assert len(after) == 2 and after[-1].exchange_id != first.exchange_id
    assert after[-1].error is None
    say(chat_app, "crop to 9:16")
    assert picture(exchanges(chat_app)[-1]).shape == (1024, 576, 3)


def test_edit_and_resend_replaces_the_message_and_what_followed(
    chat_app: AppTest,
) -> None:
    for text in ("make a poster of a fox", "now make it night", "crop to 9:16"):
        say(chat_app, text)
    fox = picture(exchanges(chat_app)[0])

    click(chat_app, "Edit and resend", index=1)
    edit_box = next(a for a in chat_app.text_area if a.label == "Edit your message")
    edit_box.input("now make it sepia").run()
    click(chat_app, "Send")

    shown = exchanges(chat_app)
    assert [exchange.typed for exchange in shown] == [
        "make a poster of a fox",
        "now make it sepia",
    ]
    sepia = picture(shown[1])
    assert not np.array_equal(sepia, fox)
    assert (sepia[..., 0] >= sepia[..., 2]).mean() > 0.9
    say(chat_app, "crop to 9:16")
    assert np.array_equal(picture(exchanges(chat_app)[-1]), sepia[:, 224:800])


def test_an_attached_photo_is_edited(chat_app: AppTest) -> None:
    data = (SAMPLES / "chelsea.png").read_bytes()
    chat_app.chat_input[0].upload("chelsea.png", data, "image/png")
    say(chat_app, "make it black and white")

    exchange = exchanges(chat_app)[0]
    assert [item.name for item in exchange.attachments] == ["chelsea.png"]
    result = picture(exchange)
    assert result.shape == (300, 451, 3)
    assert np.array_equal(result[..., 0], result[..., 2])


def test_a_preset_fills_the_next_message(chat_app: AppTest) -> None:
    click(chat_app, "Sepia")

    assert "sepia" in str(chat_app.chat_input[0].value).lower()


def test_versions_answer_side_by_side_and_any_can_continue(chat_app: AppTest) -> None:
    chat_app.session_state["chat_count"] = 2
    chat_app.run()
    say(chat_app, "make a poster of a fox")
    exchange = exchanges(chat_app)[0]
    assert len(exchange.replies) == 2
    second = picture(exchange, 1)
    assert not np.array_equal(picture(exchange, 0), second)

    click(chat_app, "Continue from this one")
    assert exchanges(chat_app)[0].chosen == 1

    chat_app.session_state["chat_count"] = 1
    say(chat_app, "crop to 9:16")
    assert np.array_equal(picture(exchanges(chat_app)[-1]), second[:, 224:800])


def test_a_blocked_message_shows_why_and_try_again_recovers(
    chat_app: AppTest, engine: EngineProcess
) -> None:
    say(chat_app, "make a poster of a fox")
    engine.set_faults({"kind": "image_safety", "match": "night"})
    say(chat_app, "now make it night")

    assert any("safety" in error.value.lower() for error in chat_app.error)
    assert exchanges(chat_app)[-1].error is not None

    engine.set_faults()
    click(chat_app, "Try again")
    last = exchanges(chat_app)[-1]
    assert last.error is None and len(exchanges(chat_app)) == 2
    assert picture(last).mean() < picture(exchanges(chat_app)[0]).mean()


def test_improve_prompt_sends_the_rewritten_text(chat_app: AppTest) -> None:
    chat_app.toggle(key="chat_improve").set_value(True).run()
    say(chat_app, "make a poster of a fox")

    exchange = exchanges(chat_app)[0]
    assert exchange.typed == "make a poster of a fox"
    assert len(exchange.text) > len(exchange.typed)
    assert "improved prompt" in texts(chat_app)


def test_a_chat_picture_goes_to_the_edit_page(chat_app: AppTest) -> None:
    say(chat_app, "make a poster of a fox")
    entry = exchanges(chat_app)[0].replies[0].entries[0]

    edit_buttons = [b for b in chat_app.button if b.label == "Edit"]
    edit_buttons[0].click().run()

    tray = chat_app.session_state["tray_edit"]
    assert tray[0].data == entry.data


def test_clear_chat_starts_over(chat_app: AppTest) -> None:
    say(chat_app, "make a poster of a fox")
    click(chat_app, "Clear chat")

    assert "chat_exchanges" not in chat_app.session_state
    assert "chat_session" not in chat_app.session_state
    say(chat_app, "now make it night")
    assert exchanges(chat_app)[0].history_before == 0
