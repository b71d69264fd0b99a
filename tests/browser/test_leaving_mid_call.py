"""Leaving a page while its model call runs loses nothing: the result is kept."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import StudioServer, studio_env
from tests.browser.studio_page import open_studio, type_prompt, wait_until_idle
from tests.conftest import EngineProcess

pytestmark = pytest.mark.browser

LATENCY_S = 3.0


@pytest.fixture()
def slow_studio(engine: EngineProcess, artifacts: Path) -> Iterator[StudioServer]:
    """The studio on the test engine, which takes a few seconds over every answer."""
    engine.set_faults(latency_s=LATENCY_S)
    server = StudioServer(
        studio_env(GEMINI_BASE_URL=engine.base_url), artifacts / "studio-slow.log"
    )
    yield server
    server.stop()


def start_a_slow_edit(page: Page, studio: StudioServer) -> None:
    """Put the cat photo on Edit, ask for sepia and run: the answer takes a while."""
    open_studio(page, studio.url)
    page.get_by_role("button", name="Cat", exact=True).click()
    wait_until_idle(page)
    type_prompt(page, "make it sepia")
    page.get_by_role("button", name="Run edit on the whole image").click()
    expect(page.get_by_text("Editing with")).to_be_visible()


def go_to(page: Page, title: str) -> None:
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()


def test_an_edit_left_mid_call_lands_in_the_history(
    page: Page, slow_studio: StudioServer, tmp_path: Path
) -> None:
    start_a_slow_edit(page, slow_studio)

    go_to(page, "Generate")
    # The studio notices the call finishing by itself and keeps its result.
    expect(page.get_by_text("History: 1 result")).to_be_visible(
        timeout=LATENCY_S * 1000 + 20_000
    )

    go_to(page, "Edit")
    download = page.get_by_role("button", name="Download .png", exact=True).first
    expect(download).to_be_visible()
    with page.expect_download() as saved:
        download.click()
    target = tmp_path / "kept.png"
    saved.value.save_as(target)
    result = np.asarray(Image.open(io.BytesIO(target.read_bytes())).convert("RGB"))
    assert result.shape == (300, 451, 3)
    red, blue = result[..., 0].astype(int), result[..., 2].astype(int)
    assert (red - blue).mean() > 15  # the sepia cast


def test_a_batch_left_mid_run_finishes_every_item(
    page: Page, slow_studio: StudioServer
) -> None:
    page.goto(f"{slow_studio.url}/batch")
    expect(page.get_by_role("heading", name="Batch", exact=True)).to_be_visible(
        timeout=60_000
    )
    for sample in ("Cat", "Coffee", "Rocket"):
        page.get_by_role("button", name=sample, exact=True).click()
        wait_until_idle(page)
    prompts = page.get_by_role("textbox", name="Prompts, one per line")
    prompts.fill("invert")
    prompts.press("Control+Enter")
    wait_until_idle(page)
    page.get_by_role("button", name="Run 3 edits").click()
    expect(page.get_by_text("Running 3 of 3 edits")).to_be_visible()

    go_to(page, "Edit")
    expect(page.get_by_text("History: 3 results")).to_be_visible(
        timeout=3 * LATENCY_S * 1000 + 20_000
    )

    go_to(page, "Batch")
    expect(page.get_by_text("3 of 3 done")).to_be_visible()
    expect(page.get_by_text("Done ·")).to_have_count(3)


def test_a_chat_reply_with_prompt_improvement_left_mid_call_is_kept(
    page: Page, slow_studio: StudioServer
) -> None:
    page.goto(f"{slow_studio.url}/chat")
    expect(page.get_by_role("heading", name="Chat", exact=True)).to_be_visible(
        timeout=60_000
    )
    page.get_by_text("Improve my prompt first").click()
    wait_until_idle(page)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("make a poster of a fox")
    box.press("Enter")
    expect(page.get_by_text("Improving the prompt")).to_be_visible()

    # Two slow calls (improve, then answer) go on while the user is elsewhere.
    go_to(page, "Generate")
    go_to(page, "Chat")
    # Back before the answer: the message waits on screen, and nothing else can be
    # sent (no starter buttons, a disabled box).
    expect(page.get_by_text("make a poster of a fox", exact=True)).to_be_visible()
    expect(page.get_by_text("Still answering")).to_be_visible()
    expect(page.get_by_role("button", name="Make a poster of a fox")).to_have_count(0)
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_disabled()

    pictures = page.locator('[data-testid="stChatMessage"] [data-testid="stImage"]')
    expect(pictures).to_have_count(1, timeout=2 * LATENCY_S * 1000 + 20_000)
    expect(page.get_by_text("History: 1 result")).to_be_visible()
    expect(page.get_by_text("make a poster of a fox", exact=True)).to_be_visible()
    expect(page.get_by_text("Still answering")).to_have_count(0)
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_enabled()


def test_the_edit_page_says_an_edit_is_still_running_and_holds_run(
    page: Page, slow_studio: StudioServer
) -> None:
    start_a_slow_edit(page, slow_studio)

    # Another click on the page stops the run that was showing the progress bar.
    page.get_by_text("Box", exact=True).click()
    notice = page.get_by_text("The last edit is still running")
    expect(notice).to_be_visible()
    expect(
        page.get_by_role("button", name="Run edit on the whole image")
    ).to_be_disabled()

    expect(notice).to_have_count(0, timeout=LATENCY_S * 1000 + 20_000)
    expect(page.get_by_text("History: 1 result")).to_be_visible()
    expect(
        page.get_by_role("button", name="Run edit on the whole image")
    ).to_be_enabled()
