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


def test_a_secret_in_a_traceback_is_redacted() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("atelier.test.redaction.traceback")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        redaction.install(["AIzaSy-secret-value\n"], logger)
        try:
            raise RuntimeError("400 bad key AIzaSy-secret-value for this request")
        except RuntimeError:
            logger.exception("the call failed")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "RuntimeError: 400 bad key [redacted] for this request" in written
    assert "AIzaSy-secret-value" not in written
