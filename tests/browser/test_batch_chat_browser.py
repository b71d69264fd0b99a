"""The Batch and Chat pages in real Chromium: run the main flow, download, check files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from services import images
from tests.browser.studio_page import (
    BRUSH,
    canvas_size,
    paint_stroke,
    screenshot_whole_page,
    stroke_region,
    upload,
    wait_until_idle,
)
from tests.conftest import upright_reference

pytestmark = pytest.mark.browser

BATCH_PROMPTS = ["make it black and white", "sepia", "pixelate", "invert"]
STROKE = [(200.0, 150.0), (330.0, 180.0), (450.0, 230.0)]  # on a 512×320 canvas
CANVAS = (512, 320)  # the painter shows the 2560×1600 ladybird at this size


def open_page(page: Page, url: str, path: str, heading: str) -> None:
    page.goto(f"{url}/{path}")
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=60_000)
    wait_until_idle(page)


def upright_pixels(data: bytes, name: str = "image") -> np.ndarray:
    return np.asarray(images.load_image(data, name).convert("RGB")).astype(int)


def is_grey(pixels: np.ndarray) -> np.ndarray:
    return (np.abs(pixels[..., 0] - pixels[..., 1]) <= 2) & (
        np.abs(pixels[..., 1] - pixels[..., 2]) <= 2
    )


def test_batch_of_four_prompts_with_a_mask_downloads_as_a_zip(
    page: Page, studio, photos: Path, tmp_path: Path, artifacts: Path
) -> None:
    open_page(page, studio.url, "batch", "Batch")
    upload(page, photos / "ladybird.jpg")
    page.get_by_text("Paint a mask on ladybird.jpg").click()
    wait_until_idle(page)
    assert canvas_size(page) == CANVAS
    paint_stroke(page, STROKE)
    prompts = page.get_by_role("textbox", name="Prompts, one per line")
    prompts.fill("\n".join(BATCH_PROMPTS))
    prompts.press("Control+Enter")
    wait_until_idle(page)
    expect(
        page.get_by_text("4 edits (1 photo × 4 prompts), 4 with the mask")
    ).to_be_visible()

    page.get_by_role("button", name="Run 4 edits").click()
    download = page.get_by_role("button", name="Download ZIP")
    expect(download).to_be_visible(timeout=120_000)
    wait_until_idle(page)
    expect(page.get_by_text("Done · 2560×1600")).to_have_count(4)
    with page.expect_download() as downloaded:
        download.click()
    target = tmp_path / "batch.zip"
    downloaded.value.save_as(target)
    screenshot_whole_page(page, artifacts / "batch.png")

    archive = zipfile.ZipFile(target)
    manifest = json.loads(archive.read("manifest.json"))
    assert [record["prompt"] for record in manifest] == BATCH_PROMPTS
    assert {record["outcome"] for record in manifest} == {"OK"}
    assert all(record["masked"] for record in manifest)
    assert all(record["size"] == "2560x1600" for record in manifest)
    original = upright_reference(photos / "ladybird.jpg")
    size = (original.shape[1], original.shape[0])
    reach = images.feather_reach(size) + 3 * size[0] / CANVAS[0]
    outside = ~stroke_region(STROKE, CANVAS, size, grow=reach)
    core = stroke_region(STROKE, CANVAS, size, grow=-BRUSH * size[0] / CANVAS[0] * 0.3)
    assert core.sum() > 1000
    for record in manifest:
        result = upright_pixels(archive.read(record["file"]))
        assert result.shape == original.shape
        # Beyond the stroke's soft edge nothing moves; on the stroke every prompt shows.
        assert np.array_equal(result[outside], original[outside]), record["prompt"]
        assert np.abs(result[core] - original[core]).mean() > 8, record["prompt"]
    grey = upright_pixels(archive.read(manifest[0]["file"]))
    assert is_grey(grey[core]).mean() > 0.97


def send_message(page: Page, text: str, expected_pictures: int) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")
    pictures = page.locator('[data-testid="stChatMessage"] [data-testid="stImage"]')
    expect(pictures).to_have_count(expected_pictures, timeout=120_000)
    # Until the run ends, the last run's buttons may still be on the page.
    expect(page.get_by_role("button", name="Regenerate")).to_have_count(1)
    wait_until_idle(page)
    expect(page.get_by_text(text, exact=True)).to_be_visible()


def test_chat_makes_a_poster_turns_it_to_night_crops_it_and_edits_a_photo(
    page: Page, studio, photos: Path, tmp_path: Path, artifacts: Path
) -> None:
    open_page(page, studio.url, "chat", "Chat")

    send_message(page, "make a poster of a fox", 1)
    send_message(page, "now make it night", 2)
    send_message(page, "crop to 9:16", 3)

    downloads = page.locator(
        '[data-testid="stChatMessage"] [data-testid="stDownloadButton"]'
    )
    expect(downloads).to_have_count(3)
    with page.expect_download() as downloaded:
        downloads.nth(2).locator("button").click()
    tall_path = tmp_path / "tall.png"
    downloaded.value.save_as(tall_path)
    with page.expect_download() as downloaded:
        downloads.nth(1).locator("button").click()
    night_path = tmp_path / "night.png"
    downloaded.value.save_as(night_path)

    tall = upright_pixels(tall_path.read_bytes())
    night = upright_pixels(night_path.read_bytes())
    assert tall.shape[1] / tall.shape[0] == pytest.approx(9 / 16, abs=0.01)
    assert tall.shape[0] == night.shape[0]
    left = (night.shape[1] - tall.shape[1]) // 2
    assert np.array_equal(tall, night[:, left : left + tall.shape[1]])

    # A real photo attached through the message box is edited at its own size.
    page.locator(
        '[data-testid="stChatInputFileUploadButton"] input[type=file]'
    ).set_input_files(str(photos / "rocket.jpg"))
    # The chip shows a preview once the upload has finished; sending earlier drops it.
    expect(page.get_by_test_id("stFileChipImagePreview")).to_be_visible()
    send_message(page, "make it black and white", 5)
    with page.expect_download() as downloaded:
        downloads.nth(3).locator("button").click()
    grey_path = tmp_path / "rocket-grey.png"
    downloaded.value.save_as(grey_path)
    grey = upright_pixels(grey_path.read_bytes())
    original = upright_pixels((photos / "rocket.jpg").read_bytes(), "rocket.jpg")
    assert grey.shape == original.shape
    assert is_grey(grey).mean() > 0.99
    assert not is_grey(original).mean() > 0.9

    screenshot_whole_page(page, artifacts / "chat.png")


def test_a_photo_that_cannot_be_read_stops_the_message_and_keeps_the_text(
    page: Page, studio, photos: Path, tmp_path: Path
) -> None:
    open_page(page, studio.url, "chat", "Chat")
    send_message(page, "make a poster of a fox", 1)
    broken = tmp_path / "broken.jpg"
    data = (photos / "ladybird.jpg").read_bytes()
    broken.write_bytes(data[: len(data) // 3])

    page.locator(
        '[data-testid="stChatInputFileUploadButton"] input[type=file]'
    ).set_input_files(str(broken))
    # Sending before the upload has finished would drop the file: wait for its chip.
    expect(page.get_by_test_id("stFileChipName")).to_contain_text("broken.jpg")
    expect(page.get_by_test_id("stFileChipIconSpinner")).to_have_count(0)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("make it black and white")
    box.press("Enter")
    wait_until_idle(page)

    warning = page.get_by_text("The message was not sent")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("broken.jpg")
    page.wait_for_timeout(4000)
    expect(warning).to_be_visible()
    # Nothing was sent: the fox is still the only picture, and the text is back.
    pictures = page.locator('[data-testid="stChatMessage"] [data-testid="stImage"]')
    expect(pictures).to_have_count(1)
    expect(box).to_have_value("make it black and white")
