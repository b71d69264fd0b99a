"""The key is scrubbed from log output even when a message carries it."""

from __future__ import annotations

import io
import logging

from services import redaction


def test_a_secret_in_a_log_message_is_redacted() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("atelier.test.redaction")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        redaction.install(["AIzaSy-secret-value"], logger)
        logger.info("server said: bad key %s in request", "AIzaSy-secret-value")
    finally:
        logger.removeHandler(handler)
    assert "AIzaSy-secret-value" not in stream.getvalue()
    assert "[redacted]" in stream.getvalue()
