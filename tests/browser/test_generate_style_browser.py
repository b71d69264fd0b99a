"""Generate and Style Mimic in real Chromium: run each page's flow and check the files."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from services import images
from tests.browser.studio_page import screenshot_whole_page, wait_until_idle

pytestmark = pytest.mark.browser

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def open_page(page: Page, url: str, path: str, heading: str) -> None:
    page.goto(f"{url}/{path}")
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(
        timeout=60_000
    )
    # The banner comes from app.py: the page runs inside the studio, not on its own.
    expect(page.get_by_text("Offline engine").first).to_be_visible()
    wait_until_idle(page)


def save_download(page: Page, button: Locator, target: Path) -> Path:
    with page.expect_download() as download:
        button.locator("button").click()
    download.value.save_as(target)
    return target


def rgb_of(path: Path) -> np.ndarray:
    return np.asarray(images.load_image(path.read_bytes(), path.name).convert("RGB"))


def lab_mean(rgb: np.ndarray) -> np.ndarray:
    scaled = rgb.astype(np.float32) / 255.0
    return cv2.cvtColor(scaled, cv2.COLOR_RGB2Lab).reshape(-1, 3).mean(axis=0)


def test_generate_two_wide_images_and_download_them(
    page: Page, studio, tmp_path: Path, artifacts: Path
) -> None:
    open_page(page, studio.url, "generate", "Generate")
    prompt = page.get_by_label("Describe the image")
    prompt.fill("a fox in a snowy forest at sunset")
    prompt.press("Control+Enter")
    wait_until_idle(page)
    page.get_by_role("radiogroup", name="Aspect ratio").get_by_role(
        "radio", name="16:9"
    ).click()
    wait_until_idle(page)
    page.get_by_role("radiogroup", name="Number of images").get_by_role(
        "radio", name="2"
    ).click()
    wait_until_idle(page)

    page.get_by_role("button", name="Generate 2 images").click()
    expect(page.get_by_text("2 of 2 made")).to_be_visible(timeout=120_000)
    wait_until_idle(page)
    expect(page.get_by_text("Image 1 · 1344×768 px · 16:9")).to_be_visible()
    downloads = page.locator('[data-testid="stDownloadButton"]')
    first = save_download(page, downloads.nth(0), tmp_path / "first.png")
    second = save_download(page, downloads.nth(1), tmp_path / "second.png")
    screenshot_whole_page(page, artifacts / "generate.png")

    for path in (first, second):
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        with Image.open(path) as opened:
            assert opened.size == (1344, 768)
    pixels = [rgb_of(first).astype(int), rgb_of(second).astype(int)]
    assert pixels[0].std() > 20, "the image is nearly flat"
    assert np.abs(pixels[0] - pixels[1]).mean() > 2, "the two images are the same"
    assert page.get_by_text("Aspect ratio not honoured").count() == 0


def test_style_mimic_rocket_in_the_colours_of_the_coffee(
    page: Page, studio, photos: Path, tmp_path: Path, artifacts: Path
) -> None:
    open_page(page, studio.url, "style_mimic", "Style Mimic")
    uploaders = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    uploaders.nth(0).set_input_files(str(photos / "rocket.jpg"))
    wait_until_idle(page)
    uploaders.nth(1).set_input_files(str(photos / "coffee.png"))
    wait_until_idle(page)
    expect(page.get_by_text("rocket.jpg · 640×427 px")).to_be_visible()
    expect(page.get_by_text("coffee.png · 600×400 px")).to_be_visible()

    page.get_by_role("button", name="Describe the style").click()
    description = page.get_by_label("Style description (edit freely)")
    expect(description).to_have_value(re.compile("palette"), timeout=60_000)
    wait_until_idle(page)
    page.get_by_role("button", name="Apply the style").click()
    download = page.locator('[data-testid="stDownloadButton"]').first
    expect(download).to_be_visible(timeout=120_000)
    wait_until_idle(page)
    result_path = save_download(page, download, tmp_path / "styled.png")
    screenshot_whole_page(page, artifacts / "style-mimic.png")

    assert result_path.read_bytes()[:8] == PNG_SIGNATURE
    content = rgb_of(photos / "rocket.jpg")
    style = rgb_of(photos / "coffee.png")
    result = rgb_of(result_path)
    assert result.shape == content.shape, "the result keeps the content's size"
    assert np.abs(result.astype(int) - content.astype(int)).mean() > 10
    before = np.linalg.norm(lab_mean(content) - lab_mean(style))
    after = np.linalg.norm(lab_mean(result) - lab_mean(style))
    assert after < before * 0.35, "the colours did not move toward the style"
