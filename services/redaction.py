"""Keep secrets out of log output, whatever a library or a server puts in a message."""

from __future__ import annotations

import logging


class RedactSecrets(logging.Filter):
    """A logging filter that replaces each given secret with ``[redacted]``."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        stripped = (secret.strip() for secret in secrets if secret)
        self.secrets = [secret for secret in stripped if len(secret) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        cleaned = self.scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        # A traceback can quote a server's message, key and all: format it here,
        # scrubbed, so the handler prints this text instead of formatting it again.
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        return True

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text


def install(secrets: list[str], logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of ``logger`` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(existing, RedactSecrets) for existing in handler.filters):
            handler.addFilter(RedactSecrets(secrets))
