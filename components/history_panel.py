"""The session history shared by every page, and the cards that show results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import streamlit as st

from components.image_input import add_to_tray, make_tray_image, thumbnail_png
from components.studio import studio
from services import images, prompts
from services.errors import AtelierError
from services.gemini import ResultImage
from services.history import History, HistoryEntry

HISTORY_KEY = "history"

# page name -> (title, file) of pages that take an image as input
INPUT_PAGES = {
    "edit": ("Edit", "pages/edit.py"),
    "style_mimic": ("Style Mimic", "pages/style_mimic.py"),
    "batch": ("Batch", "pages/batch.py"),
    "video": ("Video", "pages/video.py"),
    "chat": ("Chat", "pages/chat.py"),
}


def get_history() -> History:
    """The session's history, held to the byte cap the settings give."""
    cap_bytes = studio().settings.history_cap_mb * 1024 * 1024
    history = st.session_state.get(HISTORY_KEY)
    if history is None or history.cap_bytes != cap_bytes:
        history = (history or History()).with_cap(cap_bytes)
        st.session_state[HISTORY_KEY] = history
    return history


def add_result(entry: HistoryEntry) -> None:
    st.session_state[HISTORY_KEY] = get_history().add(entry)


def entry_from_result(
    result: ResultImage,
    page: str,
    prompt: str,
    model: str,
    parent_id: str | None = None,
    note: str = "",
) -> HistoryEntry:
    """A history record for one image a model call produced."""
    return HistoryEntry(
        data=result.data,
        mime_type=result.mime_type,
        width=result.width,
        height=result.height,
        page=page,
        prompt=prompt,
        model=model,
        parent_id=parent_id,
        note=note,
    )


def file_name(entry: HistoryEntry) -> str:
    return f"atelier-{entry.page}-{entry.entry_id}.{images.extension_for(entry.data)}"


def send_to_page(
    entry: HistoryEntry, page: str, max_pixels: int, limit: int = 4
) -> None:
    """Make a result the main input of another page and go there."""
    try:
        item = make_tray_image(
            entry.data, f"{entry.page} result {entry.entry_id}", max_pixels
        )
    except AtelierError as error:
        st.error(error.user_message)
        return
    add_to_tray(page, item, limit, first=True)
    st.switch_page(INPUT_PAGES[page][1])


def download_button(entry: HistoryEntry, key: str, label: str = "Download") -> None:
    st.download_button(
        f"{label} .{images.extension_for(entry.data)}",
        data=entry.data,
        file_name=file_name(entry),
        mime=images.sniff_mime(entry.data),
        key=key,
        on_click="ignore",
        width="stretch",
    )


def entry_caption(entry: HistoryEntry) -> str:
    when = dt.datetime.fromtimestamp(entry.created).strftime("%H:%M:%S")
    return f"{entry.width}×{entry.height} · {entry.page} · {entry.model} · {when}"


def use_buttons(entry: HistoryEntry, key: str, max_pixels: int) -> None:
    """A "Use in…" menu sending the result to any page that takes an image."""
    with st.popover("Use in…", width="stretch"):
        for page, (title, _) in INPUT_PAGES.items():
            if st.button(title, key=f"{key}_use_{page}", width="stretch"):
                send_to_page(entry, page, max_pixels)


def history_panel(
    max_pixels: int, on_remove: Callable[[str], None] | None = None
) -> None:
    """Every result of this session, newest first, each usable as a new input."""
    history = get_history()
    header = st.columns([4, 1])
    header[0].subheader(f"History ({len(history.entries)})")
    used_mb = history.total_bytes / 1024 / 1024
    header[0].caption(
        f"{used_mb:.1f} MB of {history.cap_bytes / 1024 / 1024:.0f} MB kept in this session"
        + (
            f"; {history.dropped} oldest dropped to stay under it"
            if history.dropped
            else ""
        )
    )
    if history.entries and header[1].button("Clear history", key="history_clear"):
        st.session_state[HISTORY_KEY] = history.cleared()
        st.rerun()
    if not history.entries:
        st.caption("Results from every page appear here.")
        return
    columns = st.columns(4)
    for index, entry in enumerate(history.entries):
        with columns[index % 4], st.container(border=True):
            if entry.is_video:
                st.video(entry.data)
            else:
                st.image(thumbnail_png(entry.data, 320))
            st.caption(entry_caption(entry))
            if entry.prompt:
                st.caption(f"“{prompts.excerpt(entry.prompt, 120)}”")
            download_button(entry, key=f"history_dl_{entry.entry_id}")
            if not entry.is_video:
                use_buttons(entry, f"history_{entry.entry_id}", max_pixels)
