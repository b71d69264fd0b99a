"""Edit's version chain: undo, redo, branching, and before/after comparison."""

from __future__ import annotations

import hashlib

import streamlit as st

from components.history_panel import download_button, entry_caption, get_history
from components.image_input import (
    make_tray_image,
    set_tray,
    thumbnail_png,
    tray,
    upright_size,
)
from services import images, prompts
from services.history import HistoryEntry

SHOWN_KEY = "edit_shown"  # {"entry_id": ..., "source": bytes of the image it edited}
REDO_KEY = "edit_redo"
SOURCES_KEY = "edit_sources"  # entry_id -> bytes of the image that entry was made from
VERSION_OF_KEY = "edit_version_of"  # image id (sha256 prefix) -> entry_id


def image_id_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def version_of(data: bytes) -> str | None:
    """The history entry an input image came from, if it is an earlier result."""
    image_id = image_id_of(data)
    known = st.session_state.get(VERSION_OF_KEY, {}).get(image_id)
    if known is not None:
        return str(known)
    same = (e for e in get_history().entries if image_id_of(e.data) == image_id)
    return next((entry.entry_id for entry in same), None)


def record_versions(entries: list[HistoryEntry], source: bytes) -> None:
    sources = st.session_state.setdefault(SOURCES_KEY, {})
    known = st.session_state.setdefault(VERSION_OF_KEY, {})
    for entry in entries:
        sources[entry.entry_id] = source
        known[image_id_of(entry.data)] = entry.entry_id
    st.session_state[SHOWN_KEY] = {"entry_id": entries[0].entry_id}
    st.session_state[REDO_KEY] = []


def shown_entry() -> HistoryEntry | None:
    shown = st.session_state.get(SHOWN_KEY)
    return get_history().get(shown["entry_id"]) if shown else None


def source_of(entry: HistoryEntry) -> bytes | None:
    return st.session_state.get(SOURCES_KEY, {}).get(entry.entry_id)


def _make_main(data: bytes, name: str, page: str, limit: int, max_pixels: int) -> None:
    """Put a version in the main image's place; the other reference images stay."""
    items = tray(page)
    main = make_tray_image(data, name, max_pixels)
    others = [item for item in items[1:] if item.image_id != main.image_id]
    set_tray(page, [main, *others][:limit])


def edit_from(entry: HistoryEntry, page: str, limit: int, max_pixels: int) -> None:
    """Show a version and make it the image the next edit starts from (a branch)."""
    st.session_state[SHOWN_KEY] = {"entry_id": entry.entry_id}
    _make_main(entry.data, f"version {entry.entry_id}", page, limit, max_pixels)


def undo(page: str, limit: int, max_pixels: int) -> None:
    entry = shown_entry()
    if entry is None:
        return
    st.session_state.setdefault(REDO_KEY, []).append(entry.entry_id)
    parent = get_history().get(entry.parent_id) if entry.parent_id else None
    if parent is not None:
        edit_from(parent, page, limit, max_pixels)
        return
    source = source_of(entry)
    st.session_state[SHOWN_KEY] = None
    if source is not None:
        _make_main(source, "original", page, limit, max_pixels)


def redo(page: str, limit: int, max_pixels: int) -> None:
    stack = st.session_state.get(REDO_KEY) or []
    while stack:
        entry = get_history().get(stack.pop())
        if entry is not None:
            edit_from(entry, page, limit, max_pixels)
            return


def full_comparison_png(before: bytes, after: bytes) -> bytes:
    full_before = images.load_image(before, "original")
    full_after = images.load_image(after, "result")
    return images.image_to_png(images.side_by_side(full_before, full_after))


@st.fragment
def comparison(entry: HistoryEntry, source: bytes) -> None:
    """Before/after: a wipe slider or side by side, and a comparison download."""
    before = images.load_image(thumbnail_png(source, 1400), "original")
    after = images.load_image(thumbnail_png(entry.data, 1400), "result")
    mode = st.segmented_control(
        "Compare",
        ["Side by side", "Slider"],
        default="Side by side",
        key="compare_mode",
    )
    if mode == "Slider":
        position = st.slider("Before ◀ ▶ After", 0, 100, 50, key="compare_at")
        st.image(
            images.image_to_png(images.wipe_comparison(before, after, position / 100)),
            caption="Left of the line: before; right: after",
        )
    else:
        left, right = st.columns(2)
        left.image(thumbnail_png(source, 1200), caption="Before")
        right.image(
            thumbnail_png(entry.data, 1200), caption=f"After · {entry_caption(entry)}"
        )
    st.download_button(
        "Download comparison .png",
        # Built only when clicked: at full resolution it takes seconds to encode.
        data=lambda: full_comparison_png(source, entry.data),
        file_name=f"atelier-comparison-{entry.entry_id}.png",
        mime="image/png",
        key="compare_download",
        on_click="ignore",
    )


def version_panel(page: str, limit: int, max_pixels: int) -> None:
    """The shown result, its comparison, undo/redo, and the chain it belongs to."""
    entry = shown_entry()
    redo_stack = st.session_state.get(REDO_KEY) or []
    if entry is None and not redo_stack:
        return
    st.divider()
    header = st.columns([3, 1, 1])
    header[0].subheader("Result")
    header[1].button(
        "↶ Undo",
        key="version_undo",
        on_click=undo,
        args=(page, limit, max_pixels),
        disabled=entry is None,
        width="stretch",
        help="Go back to the version before this one and edit from there",
    )
    header[2].button(
        "↷ Redo",
        key="version_redo",
        on_click=redo,
        args=(page, limit, max_pixels),
        disabled=not redo_stack,
        width="stretch",
    )
    if entry is None:
        st.caption("Back at the original. Redo brings the edit back.")
        return

    source = source_of(entry)
    if source is not None:
        comparison(entry, source)
    if entry.note:
        st.caption(f"Model: {entry.note}")
    st.caption(f"{entry.width}×{entry.height} px · {entry.model}")
    if source is not None:
        width, height = upright_size(source, "original", max_pixels)
        if entry.width * entry.height < width * height:
            st.info(
                f"The model answered at {entry.width}×{entry.height}, smaller than the "
                f"original's {width}×{height}. Paint a mask to keep the original's "
                "full resolution: only the painted area then comes from the model.",
                icon="📐",
            )
    actions = st.columns(2)
    with actions[0]:
        download_button(entry, key="shown_download")
    actions[1].button(
        "Use as input",
        key="shown_use",
        on_click=edit_from,
        args=(entry, page, limit, max_pixels),
        width="stretch",
        help="Make this result the image the next edit starts from",
    )

    chain = get_history().lineage(entry.entry_id)
    if len(chain) > 1:
        st.caption("Versions (oldest first): pick one to branch from it")
        columns = st.columns(min(len(chain), 6))
        for column, version in zip(columns, chain[-6:], strict=False):
            with column:
                st.image(
                    thumbnail_png(version.data, 200),
                    caption=prompts.excerpt(version.prompt, 40),
                )
                st.button(
                    "Edit from here",
                    key=f"branch_{version.entry_id}",
                    on_click=edit_from,
                    args=(version, page, limit, max_pixels),
                    disabled=version.entry_id == entry.entry_id,
                    width="stretch",
                )
