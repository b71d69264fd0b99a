"""Actions a designer takes on the studio's pages, written once for the browser tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from playwright.sync_api import Locator, Page, expect

BRUSH = 36  # the painter's default brush, in canvas pixels


def stroke_region(
    points: list[tuple[float, float]],
    canvas: tuple[int, int],
    image: tuple[int, int],
    grow: float,
) -> np.ndarray:
    """Pixels of the image within ``grow`` image pixels of the painted stroke."""
    scale_x, scale_y = image[0] / canvas[0], image[1] / canvas[1]
    region = Image.new("L", image, 0)
    scaled = [(x * scale_x, y * scale_y) for x, y in points]
    width = round(BRUSH * max(scale_x, scale_y) + 2 * grow)
    ImageDraw.Draw(region).line(scaled, fill=255, width=width, joint="curve")
    for x, y in scaled:
        radius = width / 2
        ImageDraw.Draw(region).ellipse(
            (x - radius, y - radius, x + radius, y + radius), fill=255
        )
    return np.asarray(region) > 0


def open_studio(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name="Edit")).to_be_visible(timeout=60_000)


def wait_until_idle(page: Page, timeout: float = 60_000) -> None:
    """Wait for Streamlit to finish the current script run.

    The running-man status widget does not show for short runs, so elements still
    marked stale (drawn by the last run, not yet by this one) are waited out too.
    """
    page.wait_for_timeout(300)
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(
        0, timeout=timeout
    )
    expect(page.locator('[data-stale="true"]')).to_have_count(0, timeout=timeout)


def upload(page: Page, *files: Path) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
        [str(path) for path in files]
    )
    wait_until_idle(page)


def drawing_surface(page: Page) -> Locator:
    surface = page.locator("canvas.upper-canvas").first
    expect(surface).to_be_visible(timeout=30_000)
    return surface


def canvas_size(page: Page) -> tuple[int, int]:
    """The drawing canvas's size in CSS pixels."""
    surface = drawing_surface(page)
    width = int(surface.evaluate("c => c.width / (window.devicePixelRatio || 1)"))
    height = int(surface.evaluate("c => c.height / (window.devicePixelRatio || 1)"))
    return width, height


def paint_stroke(page: Page, points: list[tuple[float, float]]) -> None:
    """Drag the mouse through ``points`` given in canvas pixels."""
    surface = drawing_surface(page)
    surface.scroll_into_view_if_needed()
    box = surface.bounding_box()
    assert box is not None
    start_x, start_y = points[0]
    page.mouse.move(box["x"] + start_x, box["y"] + start_y)
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=12)
    page.mouse.up()
    wait_until_idle(page)


def type_prompt(page: Page, text: str) -> None:
    area = page.get_by_label("Describe the change")
    area.fill(text)
    area.press("Control+Enter")
    wait_until_idle(page)


def run_edit_and_download(page: Page, target: Path, timeout: float = 120_000) -> Path:
    page.get_by_role("button", name="Run edit").click()
    download_button = page.get_by_role("button", name="Download .png", exact=True).first
    expect(download_button).to_be_visible(timeout=timeout)
    wait_until_idle(page)
    with page.expect_download() as download:
        download_button.click()
    download.value.save_as(target)
    return target


def screenshot_whole_page(page: Page, target: Path, max_height: int = 2400) -> None:
    """Streamlit scrolls inside its main block, so grow the window to show all of it."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('section, div')]"
        ".map(e => e.scrollHeight))"
    )
    original = page.viewport_size
    assert original is not None
    page.set_viewport_size(
        {"width": original["width"], "height": min(int(height) + 40, max_height)}
    )
    wait_until_idle(page)
    page.screenshot(path=str(target))
    page.set_viewport_size(original)
