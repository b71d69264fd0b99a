"""The instructions Atelier sends with its requests, in one place.

The offline engine reads the same constants to tell which studio task a request is,
so the two can never drift apart.
"""

from __future__ import annotations

MASK_HINT = (
    "The last image is a mask, not a photo: change only the area that is white in the "
    "mask and keep everything in the black area exactly as it is in the first image. "
    "Answer with the whole edited image at the same framing."
)

EDIT_GUIDANCE = (
    "Edit the first image as asked. Keep the composition, framing and anything the "
    "request does not mention unchanged."
)

IMPROVE_PROMPT_TASK = (
    "You rewrite prompts for an image model. Return only the improved prompt, as one "
    "paragraph of plain text: keep every change the user asked for, make it concrete "
    "(subject, style, lighting, colour, what to keep unchanged) and do not invent "
    "unrelated changes."
)

GENERATE_PROMPT_TASK = (
    "You rewrite prompts for a text-to-image model. Return only the improved prompt, "
    "as one paragraph of plain text: keep the subject and everything the user asked "
    "for, and make it concrete (setting, composition, lighting, palette, medium and "
    "mood). Do not add text, logos or people the user did not ask for."
)

SUGGEST_EDITS_TASK = (
    "You suggest edits for a photo. Look at the image and return a JSON array of 5 "
    "short, concrete edit instructions (each under 12 words) that would improve it or "
    "make an interesting variation. Return only the JSON array of strings."
)

DESCRIBE_STYLE_TASK = (
    "You describe the visual style of an image for an artist who must reproduce it: "
    "palette, light, contrast, texture, medium and mood, in 2-4 sentences. Do not "
    "describe the subject matter."
)

APPLY_STYLE_TASK = (
    "Repaint the first image in the visual style described below, keeping its "
    "subject, composition and layout. The second image shows the style."
)

PICK_PRESETS_TASK = (
    "You pick image-editing presets. Given a request and a numbered catalogue, return "
    "a JSON array of the names of up to 5 presets that best fit, best first. Return "
    "only the JSON array."
)

CHAT_GUIDANCE = (
    "You are Atelier's image assistant for designers. When asked for a picture or a "
    "change to one, answer with the image and one short sentence."
)


def excerpt(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with "…"."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + "…"
