"""How the offline engine answers generateContent: classical image code, not a model.

It reads the same request the real API gets, decides which studio task it is (edit,
text-to-image, style, chat, or one of the text tasks) and answers in the API's own
camelCase shapes, with injected faults applied first.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from services import prompts
from services.images import image_to_png, is_mask_picture, to_display_mode
from services.offline import effects
from services.offline.faults import FaultRule
from services.offline.server import (
    EngineRequest,
    EngineResponse,
    OfflineEngine,
    error_response,
)

OFFLINE_MODELS = (
    "gemini-3.1-flash-image",
    "gemini-3-pro-image",
    "gemini-flash-latest",
    "veo-3.1-generate",
)

# Pixel sizes per aspect ratio at 1K, as Gemini image models answer; 2K and 4K scale up.
SIZES_1K = {
    "1:1": (1024, 1024),
    "2:3": (832, 1248),
    "3:2": (1248, 832),
    "3:4": (864, 1184),
    "4:3": (1184, 864),
    "4:5": (896, 1152),
    "5:4": (1152, 896),
    "9:16": (768, 1344),
    "16:9": (1344, 768),
    "21:9": (1536, 672),
}
SIZE_FACTORS = {"1K": 1, "2K": 2, "4K": 4}

PICTURE_REQUEST = re.compile(
    r"\b(draw|paint|make|create|generate|render|design|show me|picture|image|poster|"
    r"illustration|photo|logo|scene|wallpaper)\b",
    re.IGNORECASE,
)
# How a rewritten text-to-image prompt lights its scene; none of these words changes
# what the procedural renderer paints.
SCENE_LIGHT = {
    "day": "soft, even daylight",
    "sunset": "low, warm light",
    "night": "cool, quiet light",
    "space": "crisp light against deep darkness",
}
# A fingerprint the engine puts on every image it makes, so a chat can tell whether
# the earlier turns came back with their signatures (Gemini 3 rejects them otherwise).
SIGNATURE_PREFIX = b"atelier-offline-signature:"


# Words too common to say what a request is about ("make it look like an old photo").
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "be",
        "but",
        "by",
        "do",
        "for",
        "from",
        "give",
        "i",
        "in",
        "into",
        "is",
        "it",
        "its",
        "like",
        "look",
        "looks",
        "make",
        "me",
        "more",
        "my",
        "of",
        "on",
        "or",
        "please",
        "so",
        "some",
        "than",
        "that",
        "the",
        "them",
        "this",
        "to",
        "up",
        "us",
        "want",
        "with",
        "would",
        "you",
        "your",
    ]
)


def content_words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower())) - STOP_WORDS


def decode_b64(data: str) -> bytes:
    """Decode base64 in either alphabet, as the SDK sends URL-safe and clients vary."""
    padded = data + "=" * (-len(data) % 4)
    try:
        return base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("inline data is not valid base64") from exc


@dataclass
class Turn:
    role: str
    texts: list[str] = field(default_factory=list)
    images: list[Image.Image] = field(default_factory=list)
    signatures: list[bytes] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(part for part in self.texts if part).strip()


def parse_turns(body: dict[str, Any]) -> list[Turn]:
    turns = []
    for content in body.get("contents") or []:
        turn = Turn(role=content.get("role") or "user")
        for part in content.get("parts") or []:
            signature = part.get("thoughtSignature") or part.get("thought_signature")
            if signature:
                turn.signatures.append(decode_b64(signature))
            if part.get("thought"):
                continue
            if "text" in part:
                turn.texts.append(str(part["text"]))
            inline = part.get("inlineData") or part.get("inline_data")
            if inline and inline.get("data"):
                raw = decode_b64(inline["data"])
                with Image.open(io.BytesIO(raw)) as opened:
                    opened.load()
                    turn.images.append(to_display_mode(opened))
        turns.append(turn)
    return turns


def system_text(body: dict[str, Any]) -> str:
    instruction = body.get("systemInstruction") or body.get("system_instruction") or {}
    if isinstance(instruction, str):
        return instruction
    return " ".join(
        str(part.get("text", "")) for part in instruction.get("parts") or []
    )


def text_part(text: str) -> dict[str, Any]:
    return {"text": text}


def image_part(image: Image.Image, signature: bytes | None = None) -> dict[str, Any]:
    part: dict[str, Any] = {
        "inlineData": {
            "mimeType": "image/png",
            "data": base64.b64encode(image_to_png(image)).decode("ascii"),
        }
    }
    if signature:
        part["thoughtSignature"] = base64.b64encode(signature).decode("ascii")
    return part


def answer(parts: list[dict[str, Any]], finish: str = "STOP") -> dict[str, Any]:
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": parts},
                "finishReason": finish,
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1},
        "modelVersion": "atelier-offline",
    }


def fault_answer(
    rule: FaultRule, image_parts: list[dict[str, Any]], key: str = ""
) -> EngineResponse | None:
    """The response an injected fault asks for, or None for "slow" (answer normally)."""
    kind = rule.kind
    if kind.isdigit():
        status = int(kind)
        if rule.echo_key:
            return error_response(status, f"Injected fault {status} for key {key}.")
        details = None
        if status == 429:
            details = [
                {
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": f"{rule.delay_s:g}s",
                }
            ]
        return error_response(status, f"Injected fault {status}.", details)
    finish_only = {
        "safety": "SAFETY",
        "image_safety": "IMAGE_SAFETY",
        "prohibited": "PROHIBITED_CONTENT",
        "image_prohibited": "IMAGE_PROHIBITED_CONTENT",
        "image_recitation": "IMAGE_RECITATION",
        "image_other": "IMAGE_OTHER",
        "no_image": "NO_IMAGE",
    }
    if kind in finish_only:
        return EngineResponse(
            body={"candidates": [{"finishReason": finish_only[kind], "index": 0}]}
        )
    if kind == "blocked_prompt":
        return EngineResponse(body={"promptFeedback": {"blockReason": "SAFETY"}})
    if kind == "empty":
        return EngineResponse(body={"candidates": []})
    if kind == "no_parts":
        return EngineResponse(
            body={
                "candidates": [{"content": {"role": "model"}, "finishReason": "STOP"}]
            }
        )
    if kind == "text_only":
        return EngineResponse(
            body=answer([text_part("I can only describe this in words.")])
        )
    if kind == "duplicate_image" and image_parts:
        # Image models may think in draft images before the answer: a small grey
        # draft, marked as a thought, then the real image twice.
        draft = dict(image_part(Image.new("RGB", (64, 64), (128, 128, 128))))
        draft["thought"] = True
        return EngineResponse(body=answer([draft, image_parts[0], image_parts[0]]))
    return None


class Brain:
    """Answers one generateContent request."""

    def __init__(self, model: str, body: dict[str, Any]) -> None:
        self.model = model
        self.body = body
        self.config = body.get("generationConfig") or {}
        self.system = system_text(body)
        self.turns = parse_turns(body)
        self.current = self.turns[-1] if self.turns else Turn("user")
        self.prompt = self.current.text

    @property
    def wants_image(self) -> bool:
        return "IMAGE" in [
            str(m).upper() for m in self.config.get("responseModalities") or []
        ]

    @property
    def wants_json(self) -> bool:
        return self.config.get("responseMimeType") == "application/json"

    def operation(self) -> str:
        if self.system.startswith(prompts.IMPROVE_PROMPT_TASK[:40]):
            return "improve_prompt"
        if self.system.startswith(prompts.GENERATE_PROMPT_TASK[:40]):
            return "improve_generation_prompt"
        if self.system.startswith(prompts.SUGGEST_EDITS_TASK[:40]):
            return "suggest_edits"
        if self.system.startswith(prompts.DESCRIBE_STYLE_TASK[:40]):
            return "describe_style"
        if self.system.startswith(prompts.PICK_PRESETS_TASK[:40]):
            return "pick_presets"
        if prompts.APPLY_STYLE_TASK[:40] in self.prompt:
            return "style_mimic"
        if self.system.startswith(prompts.CHAT_GUIDANCE[:40]) or len(self.turns) > 1:
            return "chat"
        if self.current.images:
            return "edit"
        return "generate" if self.wants_image else "text"

    def output_size(self) -> tuple[int, int]:
        image_config = self.config.get("imageConfig") or {}
        ratio = str(image_config.get("aspectRatio") or "1:1")
        width, height = SIZES_1K.get(ratio, SIZES_1K["1:1"])
        factor = SIZE_FACTORS.get(str(image_config.get("imageSize") or "1K").upper(), 1)
        return width * factor, height * factor

    def signature_for(self, image: Image.Image) -> bytes:
        return SIGNATURE_PREFIX + hashlib.sha256(image.tobytes()[:65536]).digest()[:12]

    def respond(self) -> EngineResponse:
        operation = self.operation()
        if operation == "chat" and not self.history_is_signed():
            return error_response(
                400,
                "Image parts in earlier model turns must carry their thought signature.",
            )
        handler = getattr(self, f"answer_{operation}")
        parts: list[dict[str, Any]] = handler()
        return EngineResponse(body=answer(parts))

    def history_is_signed(self) -> bool:
        return all(
            len(turn.signatures) >= len(turn.images)
            and all(sig.startswith(SIGNATURE_PREFIX) for sig in turn.signatures)
            for turn in self.turns[:-1]
            if turn.role == "model" and turn.images
        )

    # --- text tasks ---------------------------------------------------------------

    def answer_improve_prompt(self) -> list[dict[str, Any]]:
        return [text_part(effects.improve_prompt(self.prompt))]

    def answer_improve_generation_prompt(self) -> list[dict[str, Any]]:
        return [text_part(improve_scene_prompt(self.prompt))]

    def answer_suggest_edits(self) -> list[dict[str, Any]]:
        if not self.current.images:
            return [
                text_part(json.dumps(["Make it brighter", "Make it black and white"]))
            ]
        return [text_part(json.dumps(effects.suggest_edits(self.current.images[0])))]

    def answer_describe_style(self) -> list[dict[str, Any]]:
        if not self.current.images:
            return [text_part("No style image was given.")]
        return [text_part(effects.describe_style(self.current.images[-1]))]

    def answer_pick_presets(self) -> list[dict[str, Any]]:
        request, _, catalogue = self.prompt.partition("Catalogue:")
        request = request.removeprefix("Request:")
        wanted_effects = {effect.name for effect in effects.effects_in(request)}
        wanted_words = content_words(request)
        scored = []
        for line in catalogue.splitlines():
            name, _, summary = line.strip().lstrip("0123456789. ").partition(":")
            if not name.strip():
                continue
            # An effect both ask for counts most, then a word of the preset's name,
            # then a word of its summary.
            offered = {
                effect.name for effect in effects.effects_in(f"{name} {summary}")
            }
            score = (
                3 * len(wanted_effects & offered)
                + 2 * len(wanted_words & content_words(name))
                + len(wanted_words & content_words(summary))
            )
            if score:
                scored.append((score, name.strip()))
        best = [name for _, name in sorted(scored, key=lambda item: -item[0])[:5]]
        return [text_part(json.dumps(best))]

    def answer_text(self) -> list[dict[str, Any]]:
        return [text_part(self.help_text())]

    def help_text(self) -> str:
        known = ", ".join(effect.name for effect in effects.EFFECTS[:12])
        return (
            "This is Atelier's offline engine (classical image processing, not AI). "
            f"I understand edits such as {known}, and I can draw simple scenes. "
            "Set GEMINI_API_KEY to use Gemini."
        )

    # --- image tasks --------------------------------------------------------------

    def split_mask(
        self, images: list[Image.Image]
    ) -> tuple[list[Image.Image], Image.Image | None]:
        has_hint = prompts.MASK_HINT[:30] in self.prompt and len(images) >= 2
        if has_hint and is_mask_picture(images[-1]):
            return images[:-1], images[-1].convert("L")
        return images, None

    def edited(
        self, image: Image.Image, mask: Image.Image | None
    ) -> Image.Image | None:
        instruction = self.prompt.replace(prompts.MASK_HINT, "").replace(
            prompts.EDIT_GUIDANCE, ""
        )
        if mask is not None and mask.size != image.size:
            mask = mask.resize(image.size, Image.Resampling.NEAREST)
        return effects.apply_effects(image, instruction, mask)

    def answer_edit(self) -> list[dict[str, Any]]:
        photos, mask = self.split_mask(self.current.images)
        result = self.edited(photos[0], mask)
        if result is None:
            return [text_part(self.not_understood())]
        return [text_part("Done: " + self.effect_names()), image_part(result)]

    def not_understood(self) -> str:
        if any(effect.needs_mask for effect in effects.effects_in(self.prompt)):
            return "Paint over what should be removed, then ask again."
        return "I could not turn that into an edit. " + self.help_text()

    def effect_names(self) -> str:
        return (
            ", ".join(effect.name for effect in effects.effects_in(self.prompt)) + "."
        )

    def answer_generate(self) -> list[dict[str, Any]]:
        # Without a seed every answer differs, as a real model's does, so several
        # images of one prompt are not copies of each other.
        seed = int(self.config.get("seed") or random.randrange(2**31))
        scene = effects.render_scene(self.prompt, self.output_size(), seed)
        return [image_part(scene, self.signature_for(scene))]

    def answer_style_mimic(self) -> list[dict[str, Any]]:
        images = self.current.images
        if len(images) < 2:
            return [text_part("Style mimic needs a content image and a style image.")]
        note = self.prompt.split("Note:", 1)[1] if "Note:" in self.prompt else ""
        styled = effects.transfer_style(images[0], images[1], note)
        return [
            text_part(effects.describe_transfer(images[0], images[1], note)),
            image_part(styled),
        ]

    def answer_chat(self) -> list[dict[str, Any]]:
        previous = [image for turn in self.turns[:-1] for image in turn.images]
        if self.current.images:
            previous.extend(self.current.images)
        if previous and effects.effects_in(self.prompt):
            result = self.edited(previous[-1], None)
            if result is not None:
                return [
                    text_part("Here it is: " + self.effect_names()),
                    image_part(result, self.signature_for(result)),
                ]
        if previous and (ratio := re.search(r"\b(\d{1,2}:\d{1,2})\b", self.prompt)):
            cropped = crop_to_ratio(previous[-1], ratio.group(1))
            if cropped is not None:
                return [
                    text_part(f"Cropped to {ratio.group(1)}."),
                    image_part(cropped, self.signature_for(cropped)),
                ]
        if self.wants_image and PICTURE_REQUEST.search(self.prompt):
            return self.answer_generate()
        return [text_part(self.help_text())]


def improve_scene_prompt(prompt: str) -> str:
    """The user's words first, then composition and light suited to the scene."""
    original = " ".join(prompt.split())
    if not original:
        return "A calm landscape poster with a clear focal point and soft daylight."
    opening = original[0].upper() + original[1:]
    if opening[-1] not in ".!?":
        opening += "."
    light = SCENE_LIGHT[effects.read_scene(original, 0).time_of_day]
    return (
        f"{opening} A poster-style illustration with a clear focal point, layered "
        f"depth from foreground to background, {light}, a harmonious limited palette "
        "and a fine paper grain."
    )


def crop_to_ratio(image: Image.Image, ratio: str) -> Image.Image | None:
    """A centred crop of the image to a "W:H" ratio, or None for a bad ratio."""
    width_part, _, height_part = ratio.partition(":")
    if not (width_part.isdigit() and height_part.isdigit()) or "0" in (
        width_part,
        height_part,
    ):
        return None
    target = int(width_part) / int(height_part)
    width, height = image.size
    if width / height > target:
        new_width = round(height * target)
        left = (width - new_width) // 2
        return image.crop((left, 0, left + new_width, height))
    new_height = round(width / target)
    top = (height - new_height) // 2
    return image.crop((0, top, width, top + new_height))


def prompt_of(body: dict[str, Any]) -> str:
    contents = body.get("contents") or []
    if not contents:
        return ""
    return " ".join(
        str(part.get("text", "")) for part in contents[-1].get("parts") or []
    )


def generate_content(engine: OfflineEngine, request: EngineRequest) -> EngineResponse:
    assert request.match is not None
    model = request.match.group("model")
    body = request.body or {}
    if engine.plan.latency_s:
        time.sleep(engine.plan.latency_s)

    brain_for_faults = prompt_of(body)
    rule = engine.plan.take(brain_for_faults, operation="generateContent")
    if rule is not None and rule.kind == "slow":
        time.sleep(rule.delay_s)
        rule = None

    try:
        brain = Brain(model, body)
    except (ValueError, OSError) as exc:
        return error_response(400, f"Unable to process input image: {exc}")
    if not brain.turns:
        return error_response(400, "contents must not be empty.")

    if rule is not None:
        if rule.kind == "duplicate_image":
            normal = brain.respond()
            parts = normal.body["candidates"][0]["content"]["parts"]
            images = [part for part in parts if "inlineData" in part]
            faulted = fault_answer(rule, images)
            return faulted or normal
        faulted = fault_answer(rule, [], request.headers.get("x-goog-api-key", ""))
        if faulted is not None:
            return faulted
    return brain.respond()


def stream_generate_content(
    engine: OfflineEngine, request: EngineRequest
) -> EngineResponse:
    response = generate_content(engine, request)
    if response.status != 200:
        return response
    return EngineResponse(sse_events=[response.body])


def list_models(engine: OfflineEngine, request: EngineRequest) -> EngineResponse:
    return EngineResponse(
        body={
            "models": [
                {"name": f"models/{name}", "displayName": name}
                for name in OFFLINE_MODELS
            ]
        }
    )


def register(engine: OfflineEngine) -> None:
    prefix = r"/v1(?:beta|alpha)?/models/(?P<model>[^/:]+)"
    engine.route("POST", prefix + r":generateContent", generate_content)
    engine.route("POST", prefix + r":streamGenerateContent", stream_generate_content)
    engine.route("GET", r"/v1(?:beta|alpha)?/models", list_models)
