"""The Edit page in real Chromium: upload, paint with the mouse, run, download, check pixels."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from services import images
from tests.browser.studio_page import (
    BRUSH,
    canvas_size,
    drawing_surface,
    open_studio,
    paint_stroke,
    run_edit_and_download,
    screenshot_whole_page,
    stroke_region,
    type_prompt,
    upload,
)
from tests.conftest import upright_reference

pytestmark = pytest.mark.browser


def is_grey(pixels: np.ndarray) -> np.ndarray:
    return (np.abs(pixels[..., 0] - pixels[..., 1]) <= 2) & (
        np.abs(pixels[..., 1] - pixels[..., 2]) <= 2
    )


def check_black_and_white_stroke(
    original_path: Path,
    result_path: Path,
    points: list[tuple[float, float]],
    canvas: tuple[int, int],
) -> None:
    # Decoded and turned upright by hand, not by the studio's own code, so a photo
    # turned the wrong way shows up as changed pixels.
    original = upright_reference(original_path)
    result = np.asarray(Image.open(result_path).convert("RGB")).astype(int)
    size = (original.shape[1], original.shape[0])
    assert (result.shape[1], result.shape[0]) == size

    scale = size[0] / canvas[0]
    reach = images.feather_reach(size) + 3 * scale
    near_stroke = stroke_region(points, canvas, size, grow=reach)
    assert np.array_equal(result[~near_stroke], original[~near_stroke]), (
        "pixels outside changed"
    )

    core = stroke_region(points, canvas, size, grow=-BRUSH * scale * 0.3)
    assert core.sum() > 1000
    assert is_grey(result[core]).mean() > 0.97, (
        "the painted stroke is not black and white"
    )
    assert is_grey(original[core]).mean() < 0.5, (
        "the test stroke must cover coloured pixels"
    )


def test_ladybird_black_and_white_inside_the_stroke_only(
    page: Page, studio, photos: Path, tmp_path: Path, artifacts: Path
) -> None:
    open_studio(page, studio.url)
    expect(page.get_by_text("Offline engine").first).to_be_visible()
    upload(page, photos / "ladybird.jpg")
    canvas = canvas_size(page)
    assert canvas == (512, 320)

    points = [(200.0, 150.0), (330.0, 180.0), (450.0, 230.0)]
    paint_stroke(page, points)
    expect(
        page.get_by_role("button", name="Run edit on the painted area")
    ).to_be_visible()
    type_prompt(page, "make it black and white")
    drawing_surface(page).scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "edit.png"))
    result = run_edit_and_download(page, tmp_path / "ladybird-result.png")
    screenshot_whole_page(page, artifacts / "edit-ladybird.png")

    assert result.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    check_black_and_white_stroke(photos / "ladybird.jpg", result, points, canvas)


def test_phone_photo_is_upright_and_the_mask_lands_where_painted(
    page: Page, studio, photos: Path, tmp_path: Path, artifacts: Path
) -> None:
    open_studio(page, studio.url)
    upload(page, photos / "wood_phone_exif6.jpg")
    canvas = canvas_size(page)
    assert canvas[1] > canvas[0], "the phone photo must be shown upright (portrait)"
    assert abs(canvas[0] / canvas[1] - 3024 / 4032) < 0.01

    points = [(80.0, 90.0), (200.0, 110.0), (330.0, 100.0)]
    paint_stroke(page, points)
    type_prompt(page, "black and white")
    result = run_edit_and_download(page, tmp_path / "wood-result.png")
    page.screenshot(path=str(artifacts / "edit-wood.png"), full_page=True)

    with Image.open(result) as opened:
        assert opened.size == (3024, 4032)
    check_black_and_white_stroke(
        photos / "wood_phone_exif6.jpg", result, points, canvas
    )


def test_page_switches_keep_images_mask_prompt_and_results(
    page: Page, studio, photos: Path, tmp_path: Path, artifacts: Path
) -> None:
    open_studio(page, studio.url)
    upload(page, photos / "chelsea.png")
    paint_stroke(page, [(120.0, 100.0), (260.0, 140.0)])
    type_prompt(page, "make it sepia")
    run_edit_and_download(page, tmp_path / "first.png")

    page.get_by_role("link", name="Video").click()
    expect(page.get_by_role("heading", name="Video", exact=True)).to_be_visible()
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name="Edit", exact=True)).to_be_visible()

    expect(page.get_by_label("Describe the change")).to_have_value("make it sepia")
    expect(
        page.get_by_role("button", name="Run edit on the painted area")
    ).to_be_visible()
    # Finished videos on the Video page join the history too, so count edits only.
    expect(page.get_by_text("“make it sepia”")).to_have_count(1)
    expect(
        page.get_by_role("button", name="Download .png", exact=True).first
    ).to_be_visible()
    page.screenshot(path=str(artifacts / "edit-after-page-switch.png"))

    # The restored stroke is drawn on the canvas again, not only kept in memory.
    shot = Image.open(io.BytesIO(drawing_surface(page).screenshot())).convert("RGB")
    red, green, _ = shot.getpixel((190, 120))
    photo_red, photo_green, _ = (
        Image.open(photos / "chelsea.png").convert("RGB").getpixel((190, 120))
    )
    assert red - green > photo_red - photo_green + 40


def test_undo_in_the_canvas_toolbar_and_clear_mask_remove_the_mask(
    page: Page, studio, photos: Path
) -> None:
    open_studio(page, studio.url)
    upload(page, photos / "coffee.png")
    paint_stroke(page, [(100.0, 100.0), (300.0, 120.0)])
    expect(
        page.get_by_role("button", name="Run edit on the painted area")
    ).to_be_visible()

    toolbar_undo = page.locator('[title="Undo"], [aria-label="Undo"]').first
    toolbar_undo.click()
    expect(
        page.get_by_role("button", name="Run edit on the whole image")
    ).to_be_visible()

    paint_stroke(page, [(150.0, 200.0), (350.0, 220.0)])
    expect(
        page.get_by_role("button", name="Run edit on the painted area")
    ).to_be_visible()
    page.get_by_role("button", name="Clear mask").click()
    expect(
        page.get_by_role("button", name="Run edit on the whole image")
    ).to_be_visible()


def test_a_sidebar_click_while_typing_goes_to_the_page_and_keeps_the_work(
    page: Page, studio, photos: Path
) -> None:
    open_studio(page, studio.url)
    upload(page, photos / "chelsea.png")
    prompt_box = page.get_by_label("Describe the change")
    prompt_box.fill("make it sepia")
    # Painting reruns the page, which takes the prompt along.
    paint_stroke(page, [(120.0, 100.0), (260.0, 140.0)])
    prompt_box.click()
    page.keyboard.type(" and soft")

    # Focus is still in the prompt: the first click must switch pages.
    page.get_by_role("link", name="Generate").click()
    expect(page.get_by_role("heading", name="Generate", exact=True)).to_be_visible()
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name="Edit", exact=True)).to_be_visible()

    expect(page.get_by_label("Describe the change")).to_have_value("make it sepia")
    expect(
        page.get_by_role("button", name="Run edit on the painted area")
    ).to_be_visible()
