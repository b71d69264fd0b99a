"""The key is scrubbed from log output even when a message carries it."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from services import redaction


@pytest.fixture()
def logged(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of this test's own, writing to a string, with the key filter on."""
    stream = io.StringIO()
    logger = logging.getLogger(f"atelier.test.{request.node.name}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    redaction.install(["AIzaSy-secret-value\n"], logger)
    yield logger, stream
    logger.removeHandler(handler)


def test_a_secret_in_a_log_message_is_redacted(logged) -> None:
    logger, stream = logged
    logger.info("server said: bad key %s in request", "AIzaSy-secret-value")
    assert "AIzaSy-secret-value" not in stream.getvalue()
    assert "[redacted]" in stream.getvalue()


def test_a_secret_in_a_traceback_is_redacted(logged) -> None:
    logger, stream = logged
    try:
        raise RuntimeError("400 bad key AIzaSy-secret-value for this request")
    except RuntimeError:
        logger.exception("the call failed")
    written = stream.getvalue()
    assert "RuntimeError: 400 bad key [redacted] for this request" in written
    assert "AIzaSy-secret-value" not in written
