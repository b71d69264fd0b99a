"""A searchable catalogue of named effects; picking one fills a prompt."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from components.notices import error_boundary
from components.studio import studio
from services import gemini, presets


def preset_picker(key: str, on_pick: Callable[[str], None]) -> None:
    """Preset search (by name, or "describe what you want") in an expander.

    ``on_pick`` receives the chosen preset's prompt; it runs as a button callback, so
    it may set widget state such as a prompt text area's value.
    """
    current = studio()
    with st.expander("Presets", icon="🎛️"):
        query = st.text_input(
            "Search presets by name",
            key=f"{key}_preset_query",
            placeholder="e.g. sketch",
        )
        wish = st.text_input(
            "…or describe what you want",
            key=f"{key}_preset_wish",
            placeholder="e.g. make my product shot feel premium",
        )
        if wish.strip() and st.button("Find presets", key=f"{key}_preset_find"):
            catalogue = [(preset.name, preset.summary) for preset in presets.PRESETS]
            with error_boundary(current.settings.api_key):
                st.session_state[f"{key}_preset_found"] = gemini.pick_presets(
                    current.client, current.settings, wish, catalogue
                )
        found_names = st.session_state.get(f"{key}_preset_found")
        if found_names is not None and wish.strip():
            shown = [
                p for name in found_names if (p := presets.by_name(name)) is not None
            ]
            if not shown:
                st.caption("No preset matched that description; try other words.")
        else:
            shown = presets.search(query)
        if not shown and query:
            st.caption("No preset has that name.")

        for category in presets.CATEGORIES:
            in_category = [preset for preset in shown if preset.category == category]
            if not in_category:
                continue
            st.markdown(f"**{category}**")
            columns = st.columns(3)
            for index, preset in enumerate(in_category):
                offline_ok = presets.works_offline(preset)
                disabled = current.is_offline and not offline_ok
                note = " (paint a mask)" if presets.needs_mask(preset) else ""
                help_text = preset.prompt + (
                    ""
                    if not disabled
                    else " Needs Gemini: the offline engine can't do this."
                )
                columns[index % 3].button(
                    preset.name + note,
                    key=f"{key}_preset_{preset.name}",
                    on_click=on_pick,
                    args=(preset.prompt,),
                    disabled=disabled,
                    help=help_text,
                    width="stretch",
                )
        if current.is_offline:
            st.caption(
                "Greyed-out presets need Gemini; the offline engine can't honour them."
            )
