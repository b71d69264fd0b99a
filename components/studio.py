"""The process-wide studio: settings, the offline engine when needed, and one client."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from services import gemini
from services.config import Settings, load_settings
from services.offline.server import RunningEngine, start_in_thread

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Studio:
    settings: Settings
    client: gemini.Client
    engine: RunningEngine | None

    @property
    def is_offline(self) -> bool:
        return self.settings.is_offline


def _read_secrets() -> Mapping[str, Any]:
    try:
        return {key: st.secrets[key] for key in st.secrets}
    except (
        FileNotFoundError,
        KeyError,
        AttributeError,
        st.errors.StreamlitAPIException,
    ):
        return {}
    except Exception:  # a malformed secrets.toml must not stop the studio
        logger.warning("could not read .streamlit/secrets.toml; using the environment")
        return {}


@st.cache_resource(show_spinner="Starting the studio…")
def _build_studio() -> Studio:
    settings = load_settings(secrets=_read_secrets())
    engine = None
    if settings.is_offline and not settings.base_url:
        engine = start_in_thread()
        settings = settings.with_engine_url(engine.base_url)
    logger.info(
        "studio ready: engine=%s image_model=%s text_model=%s custom_base_url=%s",
        settings.engine,
        settings.image_model,
        settings.text_model,
        bool(settings.base_url and engine is None),
    )
    return Studio(settings=settings, client=gemini.make_client(settings), engine=engine)


def studio() -> Studio:
    """The one studio (settings and SDK client) of this process."""
    return _build_studio()
