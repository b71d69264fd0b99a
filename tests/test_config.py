"""Settings come from arguments, then secrets, then the environment, cleaned up."""

from __future__ import annotations

import logging

import pytest

from services.config import load_settings


def test_without_a_key_the_offline_engine_runs() -> None:
    settings = load_settings(secrets={}, environ={})
    assert settings.api_key is None
    assert settings.is_offline


def test_a_blank_key_counts_as_no_key() -> None:
    assert load_settings(secrets={}, environ={"GEMINI_API_KEY": "  \n"}).is_offline


def test_a_pasted_key_loses_its_newline() -> None:
    settings = load_settings(secrets={}, environ={"GEMINI_API_KEY": "AIzaKey123\n"})
    assert settings.api_key == "AIzaKey123"
    assert not settings.is_offline


def test_secrets_beat_the_environment_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        settings = load_settings(
            secrets={"GEMINI_API_KEY": "from-secrets"},
            environ={"GEMINI_API_KEY": "from-environment"},
        )
    assert settings.api_key == "from-secrets"
    assert "more than one place" in caplog.text
    assert "from-secrets" not in caplog.text and "from-environment" not in caplog.text


def test_two_key_variables_that_disagree_are_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        settings = load_settings(
            secrets={},
            environ={"GEMINI_API_KEY": "gemini-key", "GOOGLE_API_KEY": "google-key"},
        )
    assert settings.api_key == "gemini-key"
    assert "GEMINI_API_KEY and GOOGLE_API_KEY" in caplog.text
    assert "gemini-key" not in caplog.text and "google-key" not in caplog.text


def test_base_url_and_model_names_come_from_the_environment() -> None:
    settings = load_settings(
        secrets={},
        environ={
            "GEMINI_BASE_URL": "http://127.0.0.1:9999/",
            "ATELIER_IMAGE_MODEL": "gemini-3-pro-image",
        },
    )
    assert settings.base_url == "http://127.0.0.1:9999"
    assert settings.image_model == "gemini-3-pro-image"


def test_a_bad_number_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="retry_attempts"):
        load_settings(secrets={}, environ={"ATELIER_RETRY_ATTEMPTS": "many"})
