"""A conversation with the image model that keeps the SDK's own history.

Gemini 3 needs the thought signatures of earlier turns, so turns are never rebuilt
from saved pictures: the SDK chat object (or its raw ``Content`` history) is kept, and
regenerating or editing an earlier message starts a new chat from a slice of it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

from google import genai
from google.genai import chats, types

from services import gemini, images, prompts
from services.config import Settings
from services.errors import AtelierError, invalid_input
from services.history import HistoryEntry

logger = logging.getLogger(__name__)

MAX_VARIANTS = 4


def chat_config(
    aspect_ratio: str | None = None, seed: int | None = None
) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        system_instruction=prompts.CHAT_GUIDANCE,
        response_modalities=["TEXT", "IMAGE"],
        image_config=types.ImageConfig(aspect_ratio=aspect_ratio)
        if aspect_ratio
        else None,
        seed=seed,
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


def history_length(chat: chats.Chat) -> int:
    """How many contents (user and model turns) the chat sends with its next message."""
    return len(chat.get_history(curated=True))


def send(
    settings: Settings,
    chat: chats.Chat,
    text: str,
    attachments: Sequence[gemini.InputImage] = (),
    aspect_ratio: str | None = None,
    seed: int | None = None,
) -> gemini.ModelAnswer:
    """Send one user turn; returns the answer's text and images (images may be none).

    Raises AtelierError: INVALID_INPUT for an empty message or a bad attachment, and
    any model error (SAFETY_BLOCKED, RATE_LIMITED, ...). A failed turn is not kept in
    the chat's history.
    """
    if not text.strip() and not attachments:
        raise invalid_input("Type a message or attach an image first.")
    message: list[Any] = [text.strip()] if text.strip() else []
    for item in attachments:
        picture = images.load_image(item.data, item.name, settings.max_image_pixels)
        data, mime = images.encode_for_model(picture, settings.send_max_side)
        message.append(types.Part.from_bytes(data=data, mime_type=mime))

    started = time.monotonic()
    label = (
        f"offline engine ({settings.image_model})"
        if settings.is_offline
        else settings.image_model
    )

    def send_and_read() -> gemini.ModelAnswer:
        response = chat.send_message(message, config=chat_config(aspect_ratio, seed))
        return gemini.read_answer(response, "chat", label, time.monotonic() - started)

    return gemini.call_model(settings, "chat", settings.image_model, send_and_read)


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


def rewound_to(
    client: genai.Client,
    settings: Settings,
    chat: chats.Chat,
    keep: int,
    aspect_ratio: str | None = None,
) -> chats.Chat:
    """A new chat holding the first ``keep`` contents of this one's raw history.

    ``keep`` comes from ``history_length`` taken before a message was sent, so the new
    chat stands exactly where the conversation stood then.
    """
    history = list(chat.get_history(curated=True))
    return start_chat(client, settings, aspect_ratio, history[: max(keep, 0)])


@dataclass(frozen=True)
class Reply:
    """One answer to a message, and the conversation that continues from it."""

    chat: chats.Chat
    answer: gemini.ModelAnswer


def send_variants(
    client: genai.Client,
    settings: Settings,
    chat: chats.Chat,
    text: str,
    attachments: Sequence[gemini.InputImage] = (),
    aspect_ratio: str | None = None,
    count: int = 1,
    seeds: Sequence[int | None] = (),
) -> list[Reply]:
    """Send one message ``count`` times from the same point of the conversation.

    Each send goes to its own copy of the chat (made from the raw history, so thought
    signatures are kept) and they run at the same time; ``chat`` itself is left as it
    was. ``seeds`` (one per send, None for the model's choice) make the answers differ.
    Returns the answers that arrived, in order. Raises the first AtelierError when no
    send succeeded.
    """
    count = max(1, min(count, MAX_VARIANTS))
    history = list(chat.get_history(curated=True))
    forks = [start_chat(client, settings, aspect_ratio, history) for _ in range(count)]
    chosen_seeds = [
        seeds[index] if index < len(seeds) else None for index in range(count)
    ]

    def one(index: int) -> Reply:
        answer = send(
            settings, forks[index], text, attachments, aspect_ratio, chosen_seeds[index]
        )
        return Reply(forks[index], answer)

    if count == 1:
        return [one(0)]
    with futures.ThreadPoolExecutor(
        max_workers=count, thread_name_prefix="atelier-chat"
    ) as pool:
        pending = [pool.submit(one, index) for index in range(count)]
    replies: list[Reply] = []
    errors: list[AtelierError] = []
    for future in pending:
        error = future.exception()
        if error is None:
            replies.append(future.result())
        elif isinstance(error, AtelierError):
            errors.append(error)
        else:
            raise error
    if not replies:
        raise errors[0]
    if errors:
        logger.info(
            "chat variants: %d of %d failed (%s)",
            len(errors),
            count,
            ", ".join(error.code.value for error in errors),
        )
    return replies


# --- what a page keeps of the conversation --------------------------------------------


@dataclass(frozen=True)
class ShownReply:
    """An answer as the page shows it: its words and its images (history entries)."""

    text: str
    model: str
    seconds: float
    entries: tuple[HistoryEntry, ...] = ()


@dataclass(frozen=True)
class Exchange:
    """One message and what came back, as the page keeps it between reruns.

    ``history_before`` is ``history_length`` of the chat before the message was sent:
    rewinding to it (``rewound_to``) puts the conversation just before this message.
    ``text`` is what the model got and ``typed`` what the person wrote (they differ
    when the prompt was improved first). ``chosen`` is the reply the conversation
    continues from.
    """

    text: str
    typed: str
    attachments: tuple[gemini.InputImage, ...]
    history_before: int
    replies: tuple[ShownReply, ...] = ()
    chosen: int = 0
    error: AtelierError | None = None
    exchange_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
