"""The Video page under AppTest: start a job, see it finish, filtered and failed jobs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import EngineProcess

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def app(
    engine: EngineProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AppTest:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("GEMINI_BASE_URL", engine.base_url)
    monkeypatch.setenv("ATELIER_DATA_DIR", str(tmp_path / "data"))
    engine.control("/atelier/faults", {"faults": [], "video_seconds": 1.0})
    # The studio (settings, client) is cached per process; this test's settings differ.
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/video.py").run()
    assert not at.exception
    return at


def start(at: AppTest, prompt: str) -> None:
    at.text_area(key="video_prompt").input(prompt).run()
    next(b for b in at.button if b.label == "Start video").click().run()
    assert not at.exception


def run_until(at: AppTest, text: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        if any(text in sub.value for sub in at.subheader):
            return
        time.sleep(0.5)
    raise AssertionError(f"never saw {text!r}: {[s.value for s in at.subheader]}")


def test_a_started_video_finishes_and_joins_the_history(app: AppTest) -> None:
    next(b for b in app.button if b.label == "Rocket").click().run()
    start(app, "slow zoom on the rocket")
    assert any("Rendering (1)" in sub.value for sub in app.subheader)

    run_until(app, "Finished (1)")

    history = app.session_state["history"]
    assert history.entries[0].mime_type == "video/mp4"
    assert history.entries[0].data[4:8] == b"ftyp"
    assert history.entries[0].page == "video"


def test_a_filtered_video_says_why_and_that_it_is_not_charged(
    app: AppTest, engine: EngineProcess
) -> None:
    engine.control(
        "/atelier/faults",
        {
            "faults": [{"kind": "video_filtered", "operation": "video"}],
            "video_seconds": 1.0,
        },
    )
    start(app, "something the filter stops")
    run_until(app, "Finished (1)")
    warning = " ".join(w.value for w in app.warning)
    assert "not charged" in warning
    assert "filter" in warning.lower()

    # Retry starts the same request again, and the filtered card makes way for it.
    engine.control("/atelier/faults", {"faults": [], "video_seconds": 1.0})
    next(b for b in app.button if b.label == "Retry").click().run()
    assert any("Rendering (1)" in sub.value for sub in app.subheader)
    run_until(app, "Finished (1)")
    assert not app.warning
    assert any(
        "something the filter stops" in markdown.value for markdown in app.markdown
    )
    assert any(b.label == "Download .mp4" for b in app.get("download_button"))


def test_a_failed_video_shows_its_error_and_can_be_removed(
    app: AppTest, engine: EngineProcess
) -> None:
    engine.control(
        "/atelier/faults",
        {
            "faults": [{"kind": "video_error", "operation": "video"}],
            "video_seconds": 1.0,
        },
    )
    start(app, "this one breaks half way")
    run_until(app, "Finished (1)")
    assert app.error
    next(b for b in app.button if b.label == "Remove").click().run()
    assert any("Finished (0)" in sub.value for sub in app.subheader)
