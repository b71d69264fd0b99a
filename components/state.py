"""Widget values that outlive a page switch.

Streamlit forgets a widget's value when a run does not draw the widget, as happens when
the user visits another page. ``remembered`` restores the last value before the widget
is drawn again, and ``remember`` keeps it after.
"""

from __future__ import annotations

from typing import Any

import streamlit as st


def _kept(key: str) -> str:
    return f"kept_{key}"


PAGE_KEY = "atelier_page_of_last_run"
ARRIVED_KEY = "atelier_page_just_opened"


def note_page(name: str) -> None:
    """Called on every run of a page (by ``ensure_app_shell``) with its name."""
    st.session_state[ARRIVED_KEY] = st.session_state.get(PAGE_KEY) != name
    st.session_state[PAGE_KEY] = name


def remembered(key: str, default: Any = None) -> None:
    """Call before drawing the widget with ``key``: bring back its last value.

    Streamlit may drop the key or reset it to the widget's default while another
    page is shown, so on the first run back on the page the kept value wins; on
    later runs the widget's own state does, since the user may just have changed it.
    """
    kept = _kept(key)
    just_arrived = bool(st.session_state.get(ARRIVED_KEY))
    if kept in st.session_state and (key not in st.session_state or just_arrived):
        st.session_state[key] = st.session_state[kept]
    elif key not in st.session_state and default is not None:
        st.session_state[key] = default


def remember(key: str) -> None:
    """Call after drawing the widget with ``key``: keep its value for later runs."""
    if key in st.session_state:
        st.session_state[_kept(key)] = st.session_state[key]
