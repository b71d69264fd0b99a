"""The studio's model operations over one google-genai client.

Every public operation takes plain values, calls the configured model through the SDK
(Gemini, or the offline engine behind the same SDK), retries what is worth retrying,
logs one line per call, and returns plain values or raises ``AtelierError``.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import tenacity
from google import genai
from google.genai import types
from PIL import Image

from services import images, prompts
from services.config import Settings
from services.errors import AtelierError, ErrorCode, invalid_input
from services.sdk_errors import (
    error_for_blocked_prompt,
    error_for_finish_reason,
    to_atelier_error,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The SDK client type, for pages and components, which do not import the SDK.
Client = genai.Client

ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9", "21:9")
IMAGE_SIZES = ("1K", "2K", "4K")


@dataclass(frozen=True)
class InputImage:
    """An image as the user gave it: its bytes and the name to use in messages."""

    data: bytes
    name: str


@dataclass(frozen=True)
class ResultImage:
    data: bytes
    mime_type: str
    width: int
    height: int


@dataclass(frozen=True)
class ModelAnswer:
    """What one image call produced: images (possibly none) and any text."""

    images: tuple[ResultImage, ...]
    text: str
    model: str
    seconds: float


def make_client(settings: Settings) -> genai.Client:
    """The one SDK client for this process, pointed at Gemini or any base URL.

    Retries are ours (honouring the server's requested delay), so the SDK's are off,
    including the Interactions API's, which would otherwise retry on its own.
    """
    http_options = types.HttpOptions(
        base_url=settings.base_url or None,
        timeout=int(settings.request_timeout_s * 1000),
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    if settings.enterprise and settings.api_key:
        # Vertex AI express mode: an API key instead of Cloud credentials.
        return genai.Client(
            vertexai=True, api_key=settings.api_key, http_options=http_options
        )
    if settings.enterprise:
        return genai.Client(
            vertexai=True,
            project=settings.project,
            location=settings.location,
            http_options=http_options,
        )
    return genai.Client(
        api_key=settings.api_key or "offline", http_options=http_options
    )


# --- calling the model ---------------------------------------------------------------


def _wait_for(settings: Settings) -> Callable[[tenacity.RetryCallState], float]:
    """The wait before the next try: the delay the server asked for, else backoff."""
    backoff = tenacity.wait_exponential(multiplier=1, min=1, max=20)

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = getattr(error, "retry_after", None)
        return float(asked) if asked else float(backoff(state))

    return wait


def _stop_for(settings: Settings) -> Callable[[tenacity.RetryCallState], bool]:
    wait = _wait_for(settings)

    def stop(state: tenacity.RetryCallState) -> bool:
        if state.attempt_number >= settings.retry_attempts:
            return True
        # Give up now rather than start a wait that would overrun the budget.
        elapsed = state.seconds_since_start or 0.0
        return elapsed + wait(state) > settings.retry_budget_s

    return stop


def _is_retryable(error: BaseException) -> bool:
    return isinstance(error, AtelierError) and error.is_retryable


def _with_wait_named(error: AtelierError) -> AtelierError:
    """A rate limit that asked for a longer wait than the studio gives says how long."""
    if error.code is not ErrorCode.RATE_LIMITED or not error.retry_after:
        return error
    wait = error.retry_after
    span = f"{wait:.0f} seconds" if wait < 120 else f"{wait / 60:.0f} minutes"
    return AtelierError(
        error.code,
        f"The model is receiving too many requests for this key and asked Atelier to "
        f"wait {span}. Try again after that.",
        f"{error.detail} (server asked for {wait:g} s)",
        error.retry_after,
    )


def call_model(
    settings: Settings, operation: str, model: str, call: Callable[[], T]
) -> T:
    """Run one SDK call with translation, bounded retries and one log line per try.

    ``call`` may also read the answer and raise AtelierError itself (a safety
    block, say), so the log line gives the outcome the user meets.
    """

    def attempt() -> T:
        started = time.monotonic()
        outcome = "OK"
        try:
            return call()
        except Exception as exc:
            error = to_atelier_error(exc, operation)
            if error is None:
                outcome = f"BUG {type(exc).__name__}"
                raise
            outcome = error.code.value
            if settings.api_key and settings.api_key in error.detail:
                error.detail = error.detail.replace(settings.api_key, "[key]")
            if error is exc:
                raise
            raise error from exc
        finally:
            logger.info(
                "model call operation=%s model=%s seconds=%.2f outcome=%s",
                operation,
                model,
                time.monotonic() - started,
                outcome,
            )

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(_is_retryable),
        wait=_wait_for(settings),
        stop=_stop_for(settings),
        reraise=True,
    )
    try:
        return retrying(attempt)
    except AtelierError as error:
        named = _with_wait_named(error)
        if named is error:
            raise
        raise named from error


# --- reading answers -----------------------------------------------------------------


def _parts_of(response: types.GenerateContentResponse) -> list[types.Part]:
    candidates = response.candidates or []
    if not candidates or candidates[0].content is None:
        return []
    return list(candidates[0].content.parts or [])


def read_answer(
    response: types.GenerateContentResponse, operation: str, model: str, seconds: float
) -> ModelAnswer:
    """Images and text from an answer; thought parts and repeated images are skipped.

    Raises AtelierError(SAFETY_BLOCKED) for a blocked prompt or a safety finish; the
    caller decides whether an answer without images is an error.
    """
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        raise error_for_blocked_prompt(str(feedback.block_reason.value), operation)

    found: list[ResultImage] = []
    seen: set[str] = set()
    texts: list[str] = []
    for part in _parts_of(response):
        if part is None or part.thought:
            continue
        if part.text:
            texts.append(part.text)
        blob = part.inline_data
        if blob is None or not blob.data:
            continue
        digest = hashlib.sha256(blob.data).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        try:
            picture = images.load_image(blob.data, "the model's image")
        except AtelierError as exc:
            logger.warning(
                "skipping an unreadable image from the model: %s", exc.detail
            )
            continue
        found.append(
            ResultImage(
                data=blob.data,
                mime_type=images.sniff_mime(blob.data),
                width=picture.width,
                height=picture.height,
            )
        )

    text = "\n".join(texts).strip()
    if not found:
        candidates = response.candidates or []
        reason = candidates[0].finish_reason if candidates else None
        reason_name = str(reason.value) if reason is not None else ""
        if reason_name and reason_name != "STOP" and reason_name != "MAX_TOKENS":
            raise error_for_finish_reason(reason_name, operation)
    return ModelAnswer(tuple(found), text, model, seconds)


def require_images(answer: ModelAnswer, operation: str) -> ModelAnswer:
    if answer.images:
        return answer
    if answer.text:
        quoted = prompts.excerpt(answer.text, 600)
        raise AtelierError(
            ErrorCode.NO_IMAGE,
            f"The model answered in words instead of an image: “{quoted}” "
            "Try rephrasing the request as a concrete visual change.",
            detail=f"{operation}: text-only answer",
        )
    raise AtelierError(ErrorCode.NO_IMAGE, detail=f"{operation}: empty answer")


def _generate(
    client: genai.Client,
    settings: Settings,
    operation: str,
    model: str,
    contents: Any,
    config: types.GenerateContentConfig,
    images_required: bool = False,
) -> ModelAnswer:
    started = time.monotonic()
    label = f"offline engine ({model})" if settings.is_offline else model

    def generate_and_read() -> ModelAnswer:
        response = client.models.generate_content(
            model=model, contents=contents, config=config
        )
        answer = read_answer(response, operation, label, time.monotonic() - started)
        return require_images(answer, operation) if images_required else answer

    return call_model(settings, operation, model, generate_and_read)


# --- operations ----------------------------------------------------------------------


def decode_inputs(
    settings: Settings, inputs: Sequence[InputImage]
) -> list[Image.Image]:
    """Decode and check the user's images, naming any bad file in the error."""
    if not inputs:
        raise invalid_input("Add at least one image to edit.")
    if len(inputs) > settings.max_uploads:
        raise invalid_input(
            f"{len(inputs)} images were given; one edit takes at most "
            f"{settings.max_uploads}. Remove some and try again."
        )
    return [
        images.load_image(item.data, item.name, settings.max_image_pixels)
        for item in inputs
    ]


def edit(
    client: genai.Client,
    settings: Settings,
    prompt: str,
    inputs: Sequence[InputImage],
    mask_png: bytes | None = None,
) -> ModelAnswer:
    """Edit the first image as the prompt asks, using any others as references.

    ``mask_png`` is an "L" mask in the first image's own pixels (white = change).
    With a mask, the model's image is composited back onto the full-resolution
    original through a feathered edge, so nothing outside it changes; without one,
    the model's image is the result. Returns PNG results for masked edits.
    Raises AtelierError: INVALID_INPUT for bad images, prompts or masks, and any
    model error (NO_IMAGE when the model answers only in words).
    """
    if not prompt.strip():
        raise invalid_input("Describe the change you want before running the edit.")
    pictures = decode_inputs(settings, inputs)
    mask = _load_mask(mask_png, pictures[0].size) if mask_png else None

    wanted = len(pictures) + (1 if mask is not None else 0)
    if wanted > settings.images_per_request:
        raise invalid_input(
            f"{settings.image_model} takes at most {settings.images_per_request} images in "
            f"one request (a mask counts as one); this edit needs {wanted}. Remove an "
            "image or set a model that takes more in ATELIER_IMAGE_MODEL."
        )

    # The mask's hint, if any, comes last, at the size the photo is sent at.
    encoded = images.encode_many_for_model(
        pictures, settings.send_max_side, settings.request_budget_bytes, mask
    )
    contents: list[Any] = [
        f"{prompt.strip()}\n\n{prompts.EDIT_GUIDANCE}"
        + (f"\n{prompts.MASK_HINT}" if mask is not None else "")
    ]
    contents.extend(
        types.Part.from_bytes(data=data, mime_type=mime) for data, mime in encoded
    )

    config = types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"])
    answer = _generate(
        client,
        settings,
        "edit",
        settings.image_model,
        contents,
        config,
        images_required=True,
    )
    if mask is None:
        return answer

    model_image = images.load_image(answer.images[0].data, "the model's image")
    blended = images.composite_masked(pictures[0], model_image, mask)
    result = ResultImage(
        data=images.image_to_png(blended),
        mime_type="image/png",
        width=blended.width,
        height=blended.height,
    )
    return ModelAnswer((result,), answer.text, answer.model, answer.seconds)


def _load_mask(mask_png: bytes, size: tuple[int, int]) -> Image.Image | None:
    try:
        mask = images.load_image(mask_png, "the mask").convert("L")
    except AtelierError as exc:
        raise invalid_input(
            "The painted mask could not be read. Clear it and paint again."
        ) from exc
    if mask.size != size:
        raise invalid_input(
            "The mask does not match the image's size. Clear it and paint again.",
            detail=f"mask {mask.size} vs image {size}",
        )
    binary = mask.point(lambda value: 255 if value >= 128 else 0)
    return binary if binary.getbbox() else None


def generate(
    client: genai.Client,
    settings: Settings,
    prompt: str,
    aspect_ratio: str = "1:1",
    image_size: str | None = None,
) -> ModelAnswer:
    """Text to image with the image model; the ratio goes through ImageConfig."""
    if not prompt.strip():
        raise invalid_input("Describe the image you want first.")
    if aspect_ratio not in ASPECT_RATIOS:
        raise invalid_input(
            f"Aspect ratio {aspect_ratio} is not one the model accepts."
        )
    config = types.GenerateContentConfig(
        response_modalities=["TEXT", "IMAGE"],
        image_config=types.ImageConfig(
            aspect_ratio=aspect_ratio, image_size=image_size
        ),
    )
    return _generate(
        client,
        settings,
        "generate",
        settings.image_model,
        [prompt],
        config,
        images_required=True,
    )


def _text_call(
    client: genai.Client,
    settings: Settings,
    operation: str,
    task: str,
    contents: list[Any],
    json_output: bool = False,
) -> str:
    config = types.GenerateContentConfig(
        system_instruction=task,
        response_mime_type="application/json" if json_output else None,
    )
    answer = _generate(
        client, settings, operation, settings.text_model, contents, config
    )
    if not answer.text:
        raise AtelierError(
            ErrorCode.GENERATION_FAILED, detail=f"{operation}: empty text"
        )
    return answer.text


def _image_part(data: bytes, settings: Settings, name: str) -> types.Part:
    picture = images.load_image(data, name, settings.max_image_pixels)
    encoded, mime = images.encode_for_model(picture, min(settings.send_max_side, 1024))
    return types.Part.from_bytes(data=encoded, mime_type=mime)


def improve_prompt(
    client: genai.Client, settings: Settings, prompt: str, image: bytes | None = None
) -> str:
    """A more concrete version of the user's prompt, from the text model."""
    contents: list[Any] = [prompt.strip() or "Improve this photo."]
    if image is not None:
        contents.append(_image_part(image, settings, "the image"))
    return _text_call(
        client, settings, "improve_prompt", prompts.IMPROVE_PROMPT_TASK, contents
    )


def parse_string_list(text: str, limit: int) -> list[str]:
    """A list of strings from a model's JSON answer, tolerant of code fences."""
    cleaned = (
        text.strip().removeprefix("```json").removeprefix("```").removesuffix("```")
    )
    try:
        value = json.loads(cleaned)
    except json.JSONDecodeError:
        value = [line.strip("-*• ").strip() for line in cleaned.splitlines()]
    if not isinstance(value, list):
        return []
    return [str(item).strip() for item in value if str(item).strip()][:limit]


def suggest_edits(client: genai.Client, settings: Settings, image: bytes) -> list[str]:
    """A short list of edit ideas for this image, each usable as a prompt."""
    contents: list[Any] = [
        "Suggest edits for this image.",
        _image_part(image, settings, "the image"),
    ]
    text = _text_call(
        client,
        settings,
        "suggest_edits",
        prompts.SUGGEST_EDITS_TASK,
        contents,
        json_output=True,
    )
    suggestions = parse_string_list(text, limit=6)
    if not suggestions:
        raise AtelierError(ErrorCode.GENERATION_FAILED, detail="suggest_edits: no list")
    return suggestions


def describe_style(client: genai.Client, settings: Settings, style: bytes) -> str:
    """A short description of the style image's look, from the text model."""
    contents: list[Any] = [
        "Describe the visual style of this image.",
        _image_part(style, settings, "the style image"),
    ]
    return _text_call(
        client, settings, "describe_style", prompts.DESCRIBE_STYLE_TASK, contents
    ).strip()


def apply_style(
    client: genai.Client,
    settings: Settings,
    content: InputImage,
    style: InputImage,
    description: str,
    note: str = "",
) -> ModelAnswer:
    """Repaint the content image in the described style (the style image as reference)."""
    pictures = [
        images.load_image(content.data, content.name, settings.max_image_pixels),
        images.load_image(style.data, style.name, settings.max_image_pixels),
    ]
    encoded = images.encode_many_for_model(
        pictures, settings.send_max_side, settings.request_budget_bytes
    )
    instruction = f"{prompts.APPLY_STYLE_TASK}\nStyle: {description.strip()}"
    if note.strip():
        instruction += f"\nNote: {note.strip()}"
    contents: list[Any] = [instruction]
    contents.extend(
        types.Part.from_bytes(data=data, mime_type=mime) for data, mime in encoded
    )
    config = types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"])
    return _generate(
        client,
        settings,
        "style_mimic",
        settings.image_model,
        contents,
        config,
        images_required=True,
    )


def pick_presets(
    client: genai.Client,
    settings: Settings,
    request: str,
    catalogue: Sequence[tuple[str, str]],
) -> list[str]:
    """Names of the presets that best fit a request, best first, from the text model."""
    if not request.strip():
        return []
    listing = "\n".join(
        f"{index}. {name}: {summary}"
        for index, (name, summary) in enumerate(catalogue, 1)
    )
    contents: list[Any] = [f"Request: {request.strip()}\nCatalogue:\n{listing}"]
    text = _text_call(
        client,
        settings,
        "pick_presets",
        prompts.PICK_PRESETS_TASK,
        contents,
        json_output=True,
    )
    known = {name for name, _ in catalogue}
    return [name for name in parse_string_list(text, limit=5) if name in known]


# --- generating several images, and checking the shape of what came back ------------

MAX_IMAGES_PER_RUN = 4

# Ratios a model may answer in besides the ones the studio offers, so a mismatch can be
# named ("got 4:5") rather than shown as a bare fraction.
KNOWN_RATIOS = (*ASPECT_RATIOS, "4:5", "5:4")

# Image models round each ratio to their tile grid (864×1184 for 3:4 is 2.7% off); a
# shape further than this (on a log scale) from every named ratio gets no name.
RATIO_TOLERANCE = 0.05


@dataclass(frozen=True)
class GenerateOutcome:
    """One of several generations run together: its answer, or the error that ended it."""

    answer: ModelAnswer | None = None
    error: AtelierError | None = None


def improve_generation_prompt(
    client: genai.Client, settings: Settings, prompt: str
) -> str:
    """A richer text-to-image prompt from the text model, keeping what was asked for.

    Raises AtelierError: INVALID_INPUT for an empty prompt, and any model error.
    """
    if not prompt.strip():
        raise invalid_input("Write a prompt first, then ask to improve it.")
    return _text_call(
        client,
        settings,
        "improve_prompt",
        prompts.GENERATE_PROMPT_TASK,
        [prompt.strip()],
    ).strip()


def generate_many(
    client: genai.Client,
    settings: Settings,
    prompt: str,
    aspect_ratio: str = "1:1",
    image_size: str | None = None,
    count: int = 1,
) -> list[GenerateOutcome]:
    """Run ``count`` generations of one prompt at once; one failing spares the others.

    Returns one outcome per request, in order: each holds either the answer or the
    AtelierError that request ended with (after its own retries).
    Raises AtelierError(INVALID_INPUT) before sending anything when the prompt, ratio,
    size or count cannot be used.
    """
    if not prompt.strip():
        raise invalid_input("Describe the image you want first.")
    if aspect_ratio not in ASPECT_RATIOS:
        raise invalid_input(
            f"Aspect ratio {aspect_ratio} is not one the model accepts."
        )
    if image_size is not None and image_size not in IMAGE_SIZES:
        raise invalid_input(f"Image size {image_size} is not one of 1K, 2K or 4K.")
    if not 1 <= count <= MAX_IMAGES_PER_RUN:
        raise invalid_input(
            f"Ask for between 1 and {MAX_IMAGES_PER_RUN} images at a time, not {count}."
        )

    def one(_: int) -> GenerateOutcome:
        try:
            return GenerateOutcome(
                answer=generate(client, settings, prompt, aspect_ratio, image_size)
            )
        except AtelierError as error:
            return GenerateOutcome(error=error)

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(
        max_workers=count, thread_name_prefix="atelier-generate"
    ) as pool:
        outcomes = list(pool.map(one, range(count)))
    logger.info(
        "generate_many count=%d ok=%d failed=%d seconds=%.2f",
        count,
        sum(1 for outcome in outcomes if outcome.answer is not None),
        sum(1 for outcome in outcomes if outcome.error is not None),
        time.monotonic() - started,
    )
    return outcomes


def _ratio_to_log(ratio: str) -> float:
    width, _, height = ratio.partition(":")
    return math.log(int(width) / int(height))


def ratio_name(width: int, height: int) -> str:
    """The named ratio nearest a pixel size ("16:9"), or the size itself when none is."""
    actual = math.log(width / height)
    nearest = min(KNOWN_RATIOS, key=lambda ratio: abs(_ratio_to_log(ratio) - actual))
    if abs(_ratio_to_log(nearest) - actual) <= RATIO_TOLERANCE:
        return nearest
    return f"{width}×{height}"


def ratio_mismatch(asked: str, width: int, height: int) -> str | None:
    """``"asked 16:9, got 1:1"`` when an image is not the shape asked for, else None."""
    if width < 1 or height < 1:
        raise ValueError(f"an image size must be positive, not {width}×{height}")
    # Named ratios lie as little as 6% apart (3:4 and 4:5), so the shape is judged by
    # the ratio it is nearest, not by its distance from the one asked for.
    got = ratio_name(width, height)
    return None if got == asked else f"asked {asked}, got {got}"
