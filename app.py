"""Atelier's entry point: page setup, navigation, the engine banner and the sidebar."""

from __future__ import annotations

import logging

import streamlit as st

from components.history_panel import get_history
from components.progress import calls_in_flight_notice, collect_finished_calls
from components.shell import mark_app_run, resume_requested_page
from components.studio import studio
from services import redaction

mark_app_run()

logging.basicConfig(
    level=logging.INFO,
    format="%(asctime)s %(levelname)s %(name)s: %(message)s",
)
# Our own line per model call says what matters; the SDK's and its HTTP library's
# per-request lines would repeat it.
for chatty in ("httpx2", "httpx", "google_genai"):
    logging.getLogger(chatty).setLevel(logging.WARNING)

st.set_page_config(page_title="Atelier", page_icon="🎨", layout="wide")

current = studio()
settings = current.settings
redaction.install([settings.api_key or ""])

pages = {
    "Create": [
        st.Page("pages/edit.py", title="Edit", icon="🖌️", default=True),
        st.Page("pages/generate.py", title="Generate", icon="✨"),
        st.Page("pages/style_mimic.py", title="Style Mimic", icon="🎭"),
    ],
    "More": [
        st.Page("pages/batch.py", title="Batch", icon="🗂️"),
        st.Page("pages/video.py", title="Video", icon="🎬"),
        st.Page("pages/chat.py", title="Chat", icon="💬"),
    ],
}
navigation = st.navigation(pages)
resume_requested_page()
# Before any page draws: results of calls whose page run was stopped (the user went
# to another page mid-call) join the history now.
collect_finished_calls()

if current.is_offline:
    st.info(
        "**Offline engine**: Atelier is running without an API key, on classical image "
        "processing (not AI). It understands plain edits such as *black and white*, "
        "*sepia*, *blur*, *pixelate* or *remove* (with a painted mask). To use Gemini, set "
        "`GEMINI_API_KEY` in the environment or in `.streamlit/secrets.toml` and restart.",
        icon="🧪",
    )

navigation.run()

# Drawn after the page so the figures include what this run just added.
with st.sidebar:
    st.markdown("### Atelier")
    engine_name = "Offline engine (not AI)" if current.is_offline else "Gemini"
    st.markdown(f"**Engine:** {engine_name}")
    st.caption(
        f"Image model: `{settings.image_model}`  \nText model: `{settings.text_model}`"
    )
    calls_in_flight_notice()
    history = get_history()
    st.caption(
        f"History: {len(history.entries)} result{'' if len(history.entries) == 1 else 's'}, "
        f"{history.total_bytes / 1024 / 1024:.1f} MB"
    )
