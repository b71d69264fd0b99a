"""A conversation with the image model that keeps the SDK's own history.

Gemini 3 needs the thought signatures of earlier turns, so turns are never rebuilt
from saved pictures: the SDK chat object (or its raw ``Content`` history) is kept.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from google import genai
from google.genai import chats, types

from services import gemini, images, prompts
from services.config import Settings
from services.errors import invalid_input


def chat_config(aspect_ratio: str | None = None) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        system_instruction=prompts.CHAT_GUIDANCE,
        response_modalities=["TEXT", "IMAGE"],
        image_config=types.ImageConfig(aspect_ratio=aspect_ratio)
        if aspect_ratio
        else None,
    )


def start_chat(
    client: genai.Client,
    settings: Settings,
    aspect_ratio: str | None = None,
    history: Sequence[types.Content] | None = None,
) -> chats.Chat:
    """A new conversation, optionally continuing from an earlier raw history."""
    return client.chats.create(
        model=settings.image_model,
        config=chat_config(aspect_ratio),
        history=list(history or []),
    )


def send(
    settings: Settings,
    chat: chats.Chat,
    text: str,
    attachments: Sequence[gemini.InputImage] = (),
    aspect_ratio: str | None = None,
) -> gemini.ModelAnswer:
    """Send one user turn; returns the answer's text and images (images may be none)."""
    if not text.strip() and not attachments:
        raise invalid_input("Type a message or attach an image first.")
    message: list[Any] = [text.strip()] if text.strip() else []
    for item in attachments:
        picture = images.load_image(item.data, item.name, settings.max_image_pixels)
        data, mime = images.encode_for_model(picture, settings.send_max_side)
        message.append(types.Part.from_bytes(data=data, mime_type=mime))

    started = time.monotonic()
    response = gemini.call_model(
        settings,
        "chat",
        settings.image_model,
        lambda: chat.send_message(message, config=chat_config(aspect_ratio)),
    )
    return gemini.read_answer(
        response, "chat", settings.image_model, time.monotonic() - started
    )


def rewound(
    client: genai.Client,
    settings: Settings,
    chat: chats.Chat,
    turns_to_drop: int,
    aspect_ratio: str | None = None,
) -> chats.Chat:
    """A chat with the last ``turns_to_drop`` exchanges removed, signatures intact.

    Used to regenerate the last answer or edit and resend an earlier message.
    """
    history = list(chat.get_history(curated=True))
    user_indexes = [
        index for index, content in enumerate(history) if content.role == "user"
    ]
    if turns_to_drop <= 0 or not user_indexes:
        return start_chat(client, settings, aspect_ratio, history)
    cut = user_indexes[max(len(user_indexes) - turns_to_drop, 0)]
    return start_chat(client, settings, aspect_ratio, history[:cut])
