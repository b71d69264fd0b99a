"""Atelier's settings, read from one place in a documented order.

Each value is taken from, in order: an explicit override passed by the caller, the
app's secrets (``.streamlit/secrets.toml``, handed in by ``app.py``), then the
environment. When two sources disagree the first wins and a warning is logged
(without the values, which may be keys).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_IMAGE_MODEL = "gemini-3.1-flash-image"
DEFAULT_TEXT_MODEL = "gemini-flash-latest"
DEFAULT_VIDEO_MODEL = "veo-3.1-generate"
OFFLINE_ENGINE = "offline"
GEMINI_ENGINE = "gemini"

# How many input images each image model accepts in one request (FACTS.md).
MODEL_IMAGE_LIMITS = {"flash": 3, "pro": 14}


@dataclass(frozen=True)
class Settings:
    """Everything the services need to know, as plain values."""

    api_key: str | None = field(default=None, repr=False)
    key_source: str | None = None
    base_url: str | None = None
    image_model: str = DEFAULT_IMAGE_MODEL
    text_model: str = DEFAULT_TEXT_MODEL
    video_model: str = DEFAULT_VIDEO_MODEL
    enterprise: bool = False
    project: str | None = None
    location: str | None = None
    max_uploads: int = 4
    max_image_pixels: int = 64_000_000
    max_upload_bytes: int = 50 * 1024 * 1024
    send_max_side: int = 2048
    request_budget_bytes: int = 14 * 1024 * 1024
    request_timeout_s: float = 120.0
    retry_attempts: int = 4
    retry_budget_s: float = 90.0
    batch_concurrency: int = 4
    history_cap_mb: int = 300
    data_dir: Path = Path("data")
    model_image_limit: int | None = None

    @property
    def engine(self) -> str:
        """Gemini when a key is configured, otherwise the offline engine."""
        return GEMINI_ENGINE if (self.api_key or self.enterprise) else OFFLINE_ENGINE

    @property
    def is_offline(self) -> bool:
        return self.engine == OFFLINE_ENGINE

    @property
    def images_per_request(self) -> int:
        """How many input images the image model takes in one request."""
        if self.model_image_limit:
            return self.model_image_limit
        if self.is_offline:
            return 16
        for marker, limit in MODEL_IMAGE_LIMITS.items():
            if marker in self.image_model:
                return limit
        return 3

    def with_engine_url(self, base_url: str) -> Settings:
        return replace(self, base_url=base_url)


# setting name -> (environment variables, secrets keys, converter)
_SOURCES: dict[str, tuple[tuple[str, ...], tuple[str, ...], Any]] = {
    "api_key": (
        ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        str,
    ),
    "base_url": (("GEMINI_BASE_URL",), ("GEMINI_BASE_URL",), str),
    "image_model": (("ATELIER_IMAGE_MODEL",), ("ATELIER_IMAGE_MODEL",), str),
    "text_model": (("ATELIER_TEXT_MODEL",), ("ATELIER_TEXT_MODEL",), str),
    "video_model": (("ATELIER_VIDEO_MODEL",), ("ATELIER_VIDEO_MODEL",), str),
    "enterprise": (
        ("GOOGLE_GENAI_USE_VERTEXAI",),
        ("GOOGLE_GENAI_USE_VERTEXAI",),
        "bool",
    ),
    "project": (("GOOGLE_CLOUD_PROJECT",), ("GOOGLE_CLOUD_PROJECT",), str),
    "location": (("GOOGLE_CLOUD_LOCATION",), ("GOOGLE_CLOUD_LOCATION",), str),
    "max_uploads": (("ATELIER_MAX_UPLOADS",), ("ATELIER_MAX_UPLOADS",), int),
    "max_image_pixels": (
        ("ATELIER_MAX_IMAGE_PIXELS",),
        ("ATELIER_MAX_IMAGE_PIXELS",),
        int,
    ),
    "send_max_side": (("ATELIER_SEND_MAX_SIDE",), ("ATELIER_SEND_MAX_SIDE",), int),
    "request_timeout_s": (("ATELIER_TIMEOUT_S",), ("ATELIER_TIMEOUT_S",), float),
    "retry_attempts": (("ATELIER_RETRY_ATTEMPTS",), ("ATELIER_RETRY_ATTEMPTS",), int),
    "retry_budget_s": (("ATELIER_RETRY_BUDGET_S",), ("ATELIER_RETRY_BUDGET_S",), float),
    "batch_concurrency": (
        ("ATELIER_BATCH_CONCURRENCY",),
        ("ATELIER_BATCH_CONCURRENCY",),
        int,
    ),
    "history_cap_mb": (("ATELIER_HISTORY_CAP_MB",), ("ATELIER_HISTORY_CAP_MB",), int),
    "data_dir": (("ATELIER_DATA_DIR",), ("ATELIER_DATA_DIR",), Path),
    "model_image_limit": (
        ("ATELIER_MODEL_IMAGE_LIMIT",),
        ("ATELIER_MODEL_IMAGE_LIMIT",),
        int,
    ),
}


def _convert(raw: Any, converter: Any) -> Any:
    if converter == "bool":
        return str(raw).strip().lower() in {"1", "true", "yes", "on"}
    return converter(raw)


def _first(names: tuple[str, ...], source: Mapping[str, Any]) -> tuple[str, Any] | None:
    """The first of ``names`` set to something other than blanks, stripped.

    A pasted key often carries a newline; the SDK strips it before sending, so the
    studio must hold the same value (to redact it from logs, say).
    """
    given = [
        (name, value.strip() if isinstance(value, str) else value)
        for name in names
        if (value := source.get(name)) is not None
    ]
    given = [(name, value) for name, value in given if value != ""]
    if len({str(value) for _, value in given}) > 1:
        logger.warning(
            "%s are all set and differ; using %s",
            " and ".join(name for name, _ in given),
            given[0][0],
        )
    return given[0] if given else None


def load_settings(
    secrets: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings: explicit overrides, then secrets, then the environment.

    Raises ValueError when a value cannot be converted (a bad number, say): that is a
    configuration mistake the operator must fix, not something to guess around.
    """
    secrets = secrets or {}
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}

    for setting, (env_names, secret_names, converter) in _SOURCES.items():
        found = [
            (label, hit)
            for label, hit in (
                (
                    "argument",
                    (setting, overrides[setting]) if setting in overrides else None,
                ),
                ("secrets", _first(secret_names, secrets)),
                ("environment", _first(env_names, environ)),
            )
            if hit is not None
        ]
        if not found:
            continue
        label, (_, raw) = found[0]
        if len(found) > 1 and any(str(raw) != str(other[1][1]) for other in found[1:]):
            logger.warning(
                "setting %s is given in more than one place; using the %s value",
                setting,
                label,
            )
        try:
            values[setting] = _convert(raw, converter)
        except ValueError as exc:
            raise ValueError(
                f"setting {setting} from the {label} is not valid"
            ) from exc
        if setting == "api_key":
            values["key_source"] = label

    if values.get("base_url"):
        values["base_url"] = str(values["base_url"]).rstrip("/")
    return Settings(**values)
