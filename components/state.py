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


def remembered(key: str, default: Any = None) -> None:
    """Call before drawing the widget with ``key``: bring back its last value."""
    if key not in st.session_state and _kept(key) in st.session_state:
        st.session_state[key] = st.session_state[_kept(key)]
    elif key not in st.session_state and default is not None:
        st.session_state[key] = default


def remember(key: str) -> None:
    """Call after drawing the widget with ``key``: keep its value for later runs."""
    if key in st.session_state:
        st.session_state[_kept(key)] = st.session_state[key]
