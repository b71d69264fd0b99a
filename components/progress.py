"""Model calls that show live progress and keep their result even if the user leaves.

Streamlit stops a page's script when the user clicks another page or any widget, so a
call that returned after that would be thrown away. Each call therefore runs in a
worker thread and, while it runs, is registered in the session with what to do with
its result (``keep``). Whichever run of the studio comes next collects finished calls
(``collect_finished_calls``, from app.py) and keeps their results, on any page.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import streamlit as st

from services.errors import AtelierError

logger = logging.getLogger(__name__)

T = TypeVar("T")

IN_FLIGHT_KEY = "atelier_calls_in_flight"
POLL_SECONDS = 1.0

_POOL = concurrent.futures.ThreadPoolExecutor(
    max_workers=8, thread_name_prefix="atelier-call"
)


@dataclass
class CallInFlight:
    """A running call, and what to do with its outcome in a later run if need be."""

    key: str
    label: str
    future: concurrent.futures.Future[Any]
    keep: Callable[[Any], None]
    on_error: Callable[[AtelierError], None] | None = None


def _calls() -> dict[str, CallInFlight]:
    calls: dict[str, CallInFlight] = st.session_state.setdefault(IN_FLIGHT_KEY, {})
    return calls


def track(
    key: str,
    label: str,
    future: concurrent.futures.Future[Any],
    keep: Callable[[Any], None],
    on_error: Callable[[AtelierError], None] | None = None,
) -> None:
    """Register a running call so its outcome is kept even if this run is stopped."""
    _calls()[key] = CallInFlight(key, label, future, keep, on_error)


def forget(key: str) -> None:
    """The run that started the call is handling its outcome itself."""
    _calls().pop(key, None)


def is_tracked(key: str) -> bool:
    return key in _calls()


def still_running(name: str) -> bool:
    """Whether a call of this name, started by an earlier run, is still going."""
    return any(
        call.label == name and not call.future.done() for call in _calls().values()
    )


def run_with_progress(
    label: str,
    call: Callable[[], T],
    expected_s: float = 15.0,
    keep: Callable[[T], None] | None = None,
    on_error: Callable[[AtelierError], None] | None = None,
    name: str | None = None,
) -> T:
    """Call ``call`` in a worker thread, updating a progress bar until it finishes.

    ``keep`` stores the result in the session (history, page state); it runs here
    when the call ends during this run, or in a later run if the user left first.
    ``on_error`` does the same for an AtelierError, which is otherwise re-raised
    here or shown as a notice later. ``name`` says what the call is in those notices
    ("Chat reply"); the label without its ellipsis by default.

    A model call reports no progress of its own, so the bar follows elapsed time
    against ``expected_s`` and slows as it nears the end; the text shows real seconds.
    """
    future = _POOL.submit(call)
    key = uuid.uuid4().hex
    if keep is not None:
        track(key, name or label.rstrip("…. "), future, keep, on_error)
    bar = st.progress(0.0, text=label)
    started = time.monotonic()
    while not future.done():
        concurrent.futures.wait([future], timeout=0.25)
        elapsed = time.monotonic() - started
        fraction = 0.95 * (1 - 2 ** (-elapsed / max(expected_s / 2, 0.5)))
        bar.progress(fraction, text=f"{label} {elapsed:.0f} s")
    bar.empty()

    # From here on this run handles the outcome; no Streamlit call comes before the
    # result is kept, so a stop cannot fall between forgetting and keeping.
    forget(key)
    try:
        result = future.result()
    except AtelierError as error:
        if on_error is not None:
            on_error(error.detached())
        raise
    if keep is not None:
        keep(result)
    return result


def collect_finished_calls() -> None:
    """Keep the outcome of every call that finished after its page run was stopped."""
    calls = _calls()
    for key, call in list(calls.items()):
        if not call.future.done():
            continue
        del calls[key]
        try:
            result = call.future.result()
        except AtelierError as error:
            if call.on_error is not None:
                call.on_error(error.detached())
            st.toast(f"{call.label} failed: {error.user_message}", icon="⚠️")
            continue
        except Exception:
            logger.exception("a call that finished in the background failed")
            st.toast(f"{call.label} failed; see the server log.", icon="🛠️")
            continue
        call.keep(result)
        logger.info("kept the result of a call whose page run had stopped")
        st.toast(f"{call.label}: finished in the background and kept.", icon="✅")


def calls_in_flight_notice() -> None:
    """A sidebar note of calls still running; the studio reruns when one finishes."""
    if _calls():
        _poll_calls_in_flight()


@st.fragment(run_every=POLL_SECONDS)
def _poll_calls_in_flight() -> None:
    calls = list(_calls().values())
    if not calls or any(call.future.done() for call in calls):
        st.rerun(scope="app")
    for call in calls:
        st.caption(f"⏳ {call.label}: still working…")
