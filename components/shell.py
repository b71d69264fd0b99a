"""Make sure every page runs inside app.py's navigation, even on a server's first visit.

Streamlit runs a freshly started server's first sessions in its older "pages folder"
mode until some run calls ``st.navigation``; a first visit straight to a page's URL
would then run the page without app.py (no banner, settings or layout). A page calls
``ensure_app_shell`` first: in that situation it hands over to app.py, which comes back
to the page the visitor asked for.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from components.state import note_page

RESUME_KEY = "atelier_resume_page"
_app_has_run = False


def mark_app_run() -> None:
    """Called by app.py on every run: its navigation is in charge from now on."""
    global _app_has_run
    _app_has_run = True


def ensure_app_shell(page_file: str) -> None:
    if _app_has_run:
        note_page(Path(page_file).stem)
        return
    st.session_state[RESUME_KEY] = f"pages/{Path(page_file).name}"
    st.switch_page("app.py")


def resume_requested_page() -> None:
    """After app.py set up navigation, go to the page a first visit asked for."""
    target = st.session_state.pop(RESUME_KEY, None)
    if target:
        st.switch_page(target)
