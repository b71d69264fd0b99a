"""With a key configured, the browser never receives it: not over HTTP, not over WebSocket."""

from __future__ import annotations

import base64
import hashlib
import urllib.parse
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import StudioServer, studio_env
from tests.browser.studio_page import (
    open_studio,
    paint_stroke,
    run_edit_and_download,
    type_prompt,
    upload,
    wait_until_idle,
)
from tests.conftest import EngineProcess

pytestmark = pytest.mark.browser

SECRET = "AIzaSyATELIER-canary-7f3c9e1b5d-do-not-leak"


def encoded_forms(secret: str) -> list[bytes]:
    """The key as it would travel if something encoded it on the way out.

    Plain, hex, URL-quoted, and base64 (standard and URL-safe) at each of the three
    alignments a key can have inside a longer encoded string.
    """
    raw = secret.encode()
    forms = [raw, raw.hex().encode(), urllib.parse.quote(secret, safe="").encode()]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        # The first group holds the padding bytes and the last may hold whatever
        # followed the key, so only the groups in between are certain.
        core = encoded[4:-4]
        forms += [core, core.replace(b"+", b"-").replace(b"/", b"_")]
    return forms


def test_encoded_forms_find_a_key_hidden_in_base64() -> None:
    hidden = base64.urlsafe_b64encode(b'{"note": "x' + SECRET.encode() + b'"}')
    assert any(form in hidden for form in encoded_forms(SECRET))
    assert not any(form in hidden for form in encoded_forms("AIzaSyOTHER-key-123456"))


def open_page(page: Page, url: str, path: str, heading: str) -> None:
    page.goto(f"{url}/{path}")
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(
        timeout=60_000
    )
    wait_until_idle(page)


def fill(page: Page, label: str, text: str) -> None:
    box = page.get_by_role("textbox", name=label)
    box.fill(text)
    box.press("Control+Enter")
    wait_until_idle(page)


def use_every_page(page: Page, url: str, photos: Path, tmp_path: Path) -> None:
    """Each page's main action, so every page's answers pass through the browser."""
    open_studio(page, url)
    expect(page.get_by_text("Engine:").first).to_be_visible()
    upload(page, photos / "chelsea.png")
    paint_stroke(page, [(150.0, 120.0), (260.0, 150.0)])
    type_prompt(page, "make it sepia")
    run_edit_and_download(page, tmp_path / "result.png")
    page.get_by_role("button", name="Improve prompt").click()
    wait_until_idle(page)

    open_page(page, url, "generate", "Generate")
    fill(page, "Describe the image", "a lighthouse on a cliff at dawn")
    page.get_by_role("button", name="Generate 1 image").click()
    expect(page.get_by_text("1 of 1 made")).to_be_visible(timeout=120_000)

    open_page(page, url, "style_mimic", "Style Mimic")

    open_page(page, url, "batch", "Batch")
    upload(page, photos / "coffee.png")
    fill(page, "Prompts, one per line", "invert\nsepia")
    page.get_by_role("button", name="Run 2 edits").click()
    expect(page.get_by_role("button", name="Download ZIP")).to_be_visible(
        timeout=120_000
    )

    open_page(page, url, "video", "Video")
    fill(page, "Describe the video", "a slow pan over the sea")
    page.get_by_role("button", name="Start video").click()
    expect(page.locator("video").first).to_be_visible(timeout=120_000)

    open_page(page, url, "chat", "Chat")
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("make a poster of a fox")
    box.press("Enter")
    expect(
        page.locator('[data-testid="stChatMessage"] [data-testid="stImage"]')
    ).to_have_count(1, timeout=120_000)
    wait_until_idle(page)


def test_the_key_is_in_no_response_or_frame_on_any_page(
    page: Page, engine: EngineProcess, photos: Path, tmp_path: Path, artifacts: Path
) -> None:
    server = StudioServer(
        studio_env(GEMINI_API_KEY=SECRET, GEMINI_BASE_URL=engine.base_url),
        artifacts / "studio-keyed.log",
    )
    received: list[bytes] = []

    def keep_body(response) -> None:  # type: ignore[no-untyped-def]
        try:
            received.append(response.body())
        except Exception:  # a redirect or an aborted request has no body to read
            received.append(response.url.encode())
        received.append(str(response.headers).encode())

    def watch_socket(socket) -> None:  # type: ignore[no-untyped-def]
        socket.on(
            "framereceived",
            lambda frame: received.append(
                frame if isinstance(frame, bytes) else frame.encode()
            ),
        )

    page.on("response", keep_body)
    page.on("websocket", watch_socket)
    try:
        use_every_page(page, server.url, photos, tmp_path)
    finally:
        server.stop()

    # The studio really used the key on every kind of call: the engine saw it (as a
    # fingerprint) on image calls and on the video interaction.
    fingerprint = hashlib.sha256(SECRET.encode()).hexdigest()[:16]
    keyed_paths = {
        request["path"]
        for request in engine.control("/atelier/requests")["requests"]
        if request["key_sha256"] == fingerprint
    }
    assert any(path.endswith(":generateContent") for path in keyed_paths)
    assert any("interactions" in path for path in keyed_paths)

    assert len(received) > 50 and any(len(chunk) > 10_000 for chunk in received)
    for form in encoded_forms(SECRET) + [SECRET[10:30].encode()]:
        assert not [chunk for chunk in received if form in chunk], form
    assert SECRET not in (artifacts / "studio-keyed.log").read_text()
