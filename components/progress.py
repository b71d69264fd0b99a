"""Run a blocking service call while showing live progress on the page."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

T = TypeVar("T")

_POOL = concurrent.futures.ThreadPoolExecutor(
    max_workers=8, thread_name_prefix="atelier-call"
)


def run_with_progress(label: str, call: Callable[[], T], expected_s: float = 15.0) -> T:
    """Call ``call`` in a worker thread, updating a progress bar until it finishes.

    A model call reports no progress of its own, so the bar follows elapsed time
    against ``expected_s`` and slows as it nears the end; the text shows real seconds.
    """
    future = _POOL.submit(call)
    bar = st.progress(0.0, text=label)
    started = time.monotonic()
    while not future.done():
        concurrent.futures.wait([future], timeout=0.25)
        elapsed = time.monotonic() - started
        fraction = 0.95 * (1 - 2 ** (-elapsed / max(expected_s / 2, 0.5)))
        bar.progress(fraction, text=f"{label} {elapsed:.0f} s")
    bar.empty()
    return future.result()
