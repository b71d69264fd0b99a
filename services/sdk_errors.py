"""The one place where SDK, transport and answer-level failures become AtelierError."""

from __future__ import annotations

import re
from typing import Any

import httpx2
from google.genai import _interactions_errors as interaction_errors
from google.genai import errors as genai_errors

from services.errors import AtelierError, ErrorCode

_CODE_BY_STATUS = {
    400: ErrorCode.INVALID_INPUT,
    401: ErrorCode.AUTH_FAILED,
    403: ErrorCode.AUTH_FAILED,
    404: ErrorCode.MODEL_NOT_FOUND,
    408: ErrorCode.TIMEOUT,
    413: ErrorCode.INVALID_INPUT,
    429: ErrorCode.RATE_LIMITED,
    500: ErrorCode.UNAVAILABLE,
    502: ErrorCode.UNAVAILABLE,
    503: ErrorCode.UNAVAILABLE,
    504: ErrorCode.TIMEOUT,
}

# Finish reasons that mean a safety or policy filter stopped the answer.
SAFETY_FINISH_REASONS = frozenset(
    {
        "SAFETY",
        "IMAGE_SAFETY",
        "PROHIBITED_CONTENT",
        "IMAGE_PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
        "IMAGE_RECITATION",
    }
)
NO_IMAGE_FINISH_REASONS = frozenset(
    {"NO_IMAGE", "IMAGE_OTHER", "OTHER", "MALFORMED_RESPONSE"}
)

_FINISH_MESSAGES = {
    "SAFETY": "The answer was stopped by the model's safety filter.",
    "IMAGE_SAFETY": "The generated image was withheld by the image safety filter.",
    "PROHIBITED_CONTENT": "The request touches content the model may not produce.",
    "IMAGE_PROHIBITED_CONTENT": "The image touches content the model may not produce.",
    "RECITATION": "The answer was withheld for resembling existing work too closely.",
    "IMAGE_RECITATION": "The image was withheld for resembling existing work too closely.",
    "BLOCKLIST": "The request contains blocked terms.",
    "SPII": "The answer was withheld because it could contain personal information.",
}
_NEXT_STEP = " Rephrase the prompt or try a different image."


def _seconds(value: Any) -> float | None:
    """Parse a duration such as "7s", "1.5s" or 7 into seconds."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*s?\s*", str(value))
    return float(match.group(1)) if match else None


def retry_delay_from(details: Any) -> float | None:
    """The delay a 429 asks for, from the error's google.rpc.RetryInfo entry."""
    if not isinstance(details, dict):
        return None
    error = details.get("error", details)
    entries = error.get("details") if isinstance(error, dict) else None
    for entry in entries or []:
        if isinstance(entry, dict) and str(entry.get("@type", "")).endswith(
            "RetryInfo"
        ):
            return _seconds(entry.get("retryDelay"))
    return None


def to_atelier_error(exc: BaseException, operation: str) -> AtelierError | None:
    """Translate an SDK or transport exception raised by ``operation``.

    Returns None for anything that is neither: a programming mistake, which the
    caller re-raises as it is so tests and the log see the bug.
    """
    if isinstance(exc, AtelierError):
        return exc

    if isinstance(exc, genai_errors.APIError):
        status = int(exc.code or 0)
        code = _CODE_BY_STATUS.get(status, ErrorCode.GENERATION_FAILED)
        if status >= 500 and code is ErrorCode.GENERATION_FAILED:
            code = ErrorCode.UNAVAILABLE
        message = None
        if code is ErrorCode.INVALID_INPUT:
            message = (
                "The model refused the request as invalid. Try smaller images or a "
                "different prompt."
            )
        detail = f"{operation}: HTTP {status} {exc.status}: {exc.message}"
        return AtelierError(
            code, message, detail, retry_after=retry_delay_from(exc.details)
        )

    # A connection that timed out sent nothing: like a refused one, worth a retry.
    unreachable = isinstance(exc, (httpx2.ConnectTimeout, httpx2.PoolTimeout))
    if not unreachable and isinstance(
        exc, (interaction_errors.APITimeoutError, httpx2.TimeoutException)
    ):
        return AtelierError(
            ErrorCode.TIMEOUT, detail=f"{operation}: {type(exc).__name__}"
        )

    if isinstance(exc, (interaction_errors.APIConnectionError, httpx2.TransportError)):
        return AtelierError(
            ErrorCode.UNAVAILABLE,
            "Atelier could not reach the model service. Check the network or "
            "GEMINI_BASE_URL, then try again.",
            detail=f"{operation}: {type(exc).__name__}: {exc}",
        )

    if isinstance(exc, interaction_errors.APIError):
        status = int(getattr(exc, "status_code", 0) or 0)
        code = _CODE_BY_STATUS.get(status, ErrorCode.GENERATION_FAILED)
        if status >= 500:
            code = ErrorCode.UNAVAILABLE
        retry_after = None
        response = getattr(exc, "response", None)
        if response is not None:
            retry_after = _seconds(response.headers.get("retry-after"))
        return AtelierError(
            code,
            detail=f"{operation}: HTTP {status}: {exc.message}",
            retry_after=retry_after,
        )

    # Anything else is a programming mistake (ours or the SDK's) and stays itself.
    return None


def error_for_finish_reason(reason: str, operation: str) -> AtelierError:
    """The error for an answer that finished without the image it was asked for."""
    if reason in SAFETY_FINISH_REASONS:
        message = _FINISH_MESSAGES.get(
            reason, "The answer was blocked by a safety filter."
        )
        return AtelierError(
            ErrorCode.SAFETY_BLOCKED,
            message + _NEXT_STEP,
            f"{operation}: finish {reason}",
        )
    return AtelierError(ErrorCode.NO_IMAGE, detail=f"{operation}: finish {reason}")


def error_for_blocked_prompt(reason: str, operation: str) -> AtelierError:
    return AtelierError(
        ErrorCode.SAFETY_BLOCKED,
        "The prompt was blocked by the model's safety filter before it ran."
        + _NEXT_STEP,
        f"{operation}: prompt blocked ({reason})",
    )
