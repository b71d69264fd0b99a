"""One UI boundary for failures: our errors shown plainly, anything else logged once."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

import streamlit as st

from services.errors import AtelierError

logger = logging.getLogger(__name__)


def _redacted(text: str, secret: str | None) -> str:
    return text.replace(secret, "[key]") if secret else text


def show_error(error: AtelierError, secret: str | None = None) -> None:
    """Render an AtelierError: the message, and the technical detail folded away."""
    st.error(
        f"**{error.code.value.replace('_', ' ').title()}**: {error.user_message}",
        icon="⚠️",
    )
    if error.detail:
        with st.expander("Technical detail"):
            st.code(_redacted(error.detail, secret), language=None)


@contextlib.contextmanager
def error_boundary(secret: str | None = None) -> Iterator[None]:
    """Show AtelierError plainly; log anything else and show a short notice.

    Under tests (ATELIER_RAISE_UNEXPECTED=1) unexpected exceptions are re-raised so a
    friendly notice never hides a bug.
    """
    try:
        yield
    except AtelierError as error:
        logger.info("shown to user: %s (%s)", error.code.value, error.detail)
        show_error(error, secret)
    except Exception:
        logger.exception("unexpected failure in the studio")
        if os.environ.get("ATELIER_RAISE_UNEXPECTED") == "1":
            raise
        st.error(
            "Something went wrong inside Atelier. Your images and results are kept; "
            "try again, and if it happens again see the server log.",
            icon="🛠️",
        )
