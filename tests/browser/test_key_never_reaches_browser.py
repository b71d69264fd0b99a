"""With a key configured, the browser never receives it: not over HTTP, not over WebSocket."""

from __future__ import annotations

import hashlib
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
)
from tests.conftest import EngineProcess

pytestmark = pytest.mark.browser

SECRET = "AIzaSyATELIER-canary-7f3c9e1b5d-do-not-leak"


def test_the_key_is_in_no_response_or_frame(
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
        open_studio(page, server.url)
        expect(page.get_by_text("Engine:").first).to_be_visible()
        upload(page, photos / "chelsea.png")
        paint_stroke(page, [(150.0, 120.0), (260.0, 150.0)])
        type_prompt(page, "make it sepia")
        run_edit_and_download(page, tmp_path / "result.png")
        page.get_by_role("button", name="Improve prompt").click()
        page.wait_for_timeout(2000)
    finally:
        server.stop()

    # The studio really used the key: the engine saw it (as a fingerprint).
    fingerprint = hashlib.sha256(SECRET.encode()).hexdigest()[:16]
    seen = {
        request["key_sha256"]
        for request in engine.control("/atelier/requests")["requests"]
    }
    assert fingerprint in seen

    assert len(received) > 20 and any(len(chunk) > 10_000 for chunk in received)
    for needle in (SECRET.encode(), SECRET[10:30].encode()):
        assert not [chunk for chunk in received if needle in chunk]
    assert SECRET not in (artifacts / "studio-keyed.log").read_text()
