"""The one error type a person can meet in Atelier, and the codes it carries.

Every failure that reaches the user is an ``AtelierError`` with a stable ``code``:

=================  ===========================================================  =======
code               when it happens                                              retried
=================  ===========================================================  =======
INVALID_INPUT      the upload or request is unusable (empty, not an image,      no
                   truncated, too large, too many files, rejected by the API)
RATE_LIMITED       the API answered 429 or a quota is exhausted                 yes
SAFETY_BLOCKED     the prompt or the answer was blocked by a safety filter      no
NO_IMAGE           the model answered, but without an image                     no
TIMEOUT            the request took longer than the configured limit            no
UNAVAILABLE        the service is down, overloaded or unreachable (5xx, a       yes
                   refused connection, a connection that timed out)
AUTH_FAILED        the API key is missing, wrong or not allowed (401/403)       no
MODEL_NOT_FOUND    the configured model does not exist for this key (404)       no
GENERATION_FAILED  anything else the model or API reported                      no
=================  ===========================================================  =======

``user_message`` is written for people and never contains the key, a traceback or
raw JSON; ``detail`` keeps the technical account for the log and an expander.
Programming mistakes are not ``AtelierError`` and stay plain exceptions.
"""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    RATE_LIMITED = "RATE_LIMITED"
    SAFETY_BLOCKED = "SAFETY_BLOCKED"
    NO_IMAGE = "NO_IMAGE"
    TIMEOUT = "TIMEOUT"
    UNAVAILABLE = "UNAVAILABLE"
    AUTH_FAILED = "AUTH_FAILED"
    MODEL_NOT_FOUND = "MODEL_NOT_FOUND"
    GENERATION_FAILED = "GENERATION_FAILED"


RETRYABLE_CODES = frozenset({ErrorCode.RATE_LIMITED, ErrorCode.UNAVAILABLE})

# What happened, then what to do next. Callers may pass a more specific message.
DEFAULT_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.INVALID_INPUT: "That input can't be used. Check the file or the settings "
    "and try again.",
    ErrorCode.RATE_LIMITED: "The model is receiving too many requests right now. "
    "Wait a minute and try again.",
    ErrorCode.SAFETY_BLOCKED: "The request was blocked by the model's safety filter. "
    "Rephrase the prompt or use a different image.",
    ErrorCode.NO_IMAGE: "The model answered without an image. Try a more specific "
    "prompt, or run it again.",
    ErrorCode.TIMEOUT: "The model took too long to answer. Try again, or use smaller "
    "or fewer images.",
    ErrorCode.UNAVAILABLE: "The model service is unavailable at the moment. "
    "Try again in a little while.",
    ErrorCode.AUTH_FAILED: "The API key was refused. Check GEMINI_API_KEY in your "
    "environment or .streamlit/secrets.toml.",
    ErrorCode.MODEL_NOT_FOUND: "The configured model does not exist or is not "
    "available to this key. Check the model names in the settings.",
    ErrorCode.GENERATION_FAILED: "The model could not complete the request. "
    "Try again, or change the prompt.",
}


class AtelierError(Exception):
    """A failure that is safe and useful to show a person."""

    def __init__(
        self,
        code: ErrorCode,
        user_message: str | None = None,
        detail: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.user_message = user_message or DEFAULT_MESSAGES[code]
        self.detail = detail
        self.retry_after = retry_after
        super().__init__(f"{code}: {self.user_message}")

    @property
    def is_retryable(self) -> bool:
        return self.code in RETRYABLE_CODES

    def detached(self) -> AtelierError:
        """A copy without the traceback, which would keep frames and images alive."""
        return AtelierError(self.code, self.user_message, self.detail, self.retry_after)


def invalid_input(message: str, detail: str = "") -> AtelierError:
    return AtelierError(ErrorCode.INVALID_INPUT, message, detail)
