"""The Video page in Chromium: start from a photo, watch progress, play and download."""

from __future__ import annotations

import re
import time
from pathlib import Path

import av
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import StudioServer, studio_env
from tests.browser.studio_page import screenshot_whole_page, upload, wait_until_idle

pytestmark = pytest.mark.browser


def open_video_page(page: Page, url: str) -> None:
    page.goto(url + "/video")
    expect(page.get_by_role("heading", name="Video", exact=True)).to_be_visible(
        timeout=60_000
    )


def start_video(page: Page, prompt: str, ratio: str) -> None:
    area = page.get_by_label("Describe the video")
    area.fill(prompt)
    area.press("Control+Enter")
    page.get_by_text(ratio, exact=True).click()
    wait_until_idle(page)
    page.get_by_role("button", name="Start video").click()


def job_card(page: Page, prompt: str, holding: str) -> Locator:
    """The innermost bordered card that names this job's prompt and holds ``holding``."""
    return (
        page.locator('[data-testid="stVerticalBlock"]')
        .filter(has_text=prompt)
        .filter(has=page.locator(holding))
        .last
    )


def progress_percents(card: Locator) -> list[int]:
    texts = card.locator('[data-testid="stProgress"]').all_inner_texts()
    return [int(match) for text in texts for match in re.findall(r"(\d+)%", text)]


def wait_for_progress_to_move(page: Page, prompt: str) -> tuple[int, int]:
    first = None
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        card = job_card(page, prompt, '[data-testid="stProgress"]')
        seen = progress_percents(card) if card.count() else []
        if seen:
            if first is None:
                first = seen[0]
            elif seen[0] > first:
                return first, seen[0]
        page.wait_for_timeout(400)
    raise AssertionError(f"progress did not move (first reading {first})")


def playing_duration(page: Page, card: Locator | None = None) -> float:
    player = (card or page).locator("video").first
    expect(player).to_be_visible(timeout=60_000)
    player.evaluate(
        "v => new Promise(done => v.readyState >= 1 ? done() : "
        "v.addEventListener('loadedmetadata', () => done(), {once: true}))"
    )
    return float(
        player.evaluate("v => { v.muted = true; v.play(); return v.duration }")
    )


def test_rocket_video_renders_plays_and_downloads_in_9_16(
    page: Page, studio, photos: Path, tmp_path: Path, artifacts: Path
) -> None:
    # No other test starts this prompt, and every studio gets an empty data folder,
    # so every check below reads this job's own card.
    prompt = "slow push in on the rocket at dusk"
    open_video_page(page, studio.url)
    upload(page, photos / "rocket.jpg")
    start_video(page, prompt, "9:16")

    before, after = wait_for_progress_to_move(page, prompt)
    assert after > before
    page.screenshot(path=str(artifacts / "video-rendering.png"))

    expect(job_card(page, prompt, "video")).to_be_visible(timeout=90_000)
    card = job_card(page, prompt, "video")
    duration = playing_duration(page, card)
    assert duration > 0
    card.locator("video").first.evaluate(
        "v => new Promise(done => { const check = () => v.currentTime > 0 ? done() "
        ": setTimeout(check, 100); check(); })"
    )
    screenshot_whole_page(page, artifacts / "video.png")

    with page.expect_download() as download:
        card.get_by_role("button", name="Download .mp4").click()
    target = tmp_path / "video.mp4"
    download.value.save_as(target)
    with av.open(str(target)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (720, 1280)
        assert stream.codec_context.name == "h264"
        frames = sum(1 for _ in container.decode(stream))
    assert frames > 24


def test_a_refresh_and_an_app_restart_mid_render_still_show_the_job_finishing(
    browser, photos: Path, artifacts: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    env = studio_env(ATELIER_DATA_DIR=str(data_dir))
    server = StudioServer(env, artifacts / "studio-video-restart-1.log")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        open_video_page(page, server.url)
        upload(page, photos / "rocket.jpg")
        start_video(page, "a wide slow pan over the launch pad", "16:9")
        expect(page.get_by_text("Rendering (1)")).to_be_visible(timeout=20_000)

        page.reload()
        expect(page.get_by_text("Rendering (1)")).to_be_visible(timeout=30_000)
    finally:
        server.stop()

    # A new app process on another port, same data folder: polling resumes.
    restarted = StudioServer(env, artifacts / "studio-video-restart-2.log")
    try:
        open_video_page(page, restarted.url)
        expect(page.get_by_text("Finished (1)")).to_be_visible(timeout=90_000)
        assert playing_duration(page) > 0
        expect(
            page.get_by_text("a wide slow pan over the launch pad").first
        ).to_be_visible()
    finally:
        restarted.stop()
        context.close()
