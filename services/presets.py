"""The catalogue of named effects designers can apply on Edit, Batch and Chat."""

from __future__ import annotations

import re
from dataclasses import dataclass

CATEGORIES = ("Photo fixes", "Artistic styles", "Product and design", "Fun")


@dataclass(frozen=True)
class Preset:
    name: str
    category: str
    prompt: str
    summary: str


def _p(name: str, category: str, summary: str, prompt: str) -> Preset:
    return Preset(name=name, category=category, prompt=prompt, summary=summary)


PRESETS: tuple[Preset, ...] = (
    # Photo fixes
    _p(
        "Brighten",
        CATEGORIES[0],
        "lift a dark photo",
        "Make the photo brighter, lifting the shadows while keeping highlights intact.",
    ),
    _p(
        "Darken",
        CATEGORIES[0],
        "calm an overexposed photo",
        "Make the photo darker to recover an overexposed look, keeping detail.",
    ),
    _p(
        "More contrast",
        CATEGORIES[0],
        "punchier tones",
        "Add more contrast so the photo looks crisp and punchy without clipping.",
    ),
    _p(
        "Soft contrast",
        CATEGORIES[0],
        "gentle, flat look",
        "Give the photo less contrast for a soft, matte, airy look.",
    ),
    _p(
        "Vivid colours",
        CATEGORIES[0],
        "richer colour",
        "Saturate the colours so the photo looks more vivid, keeping skin natural.",
    ),
    _p(
        "Muted colours",
        CATEGORIES[0],
        "quiet palette",
        "Desaturate the colours slightly for a muted, editorial palette.",
    ),
    _p(
        "Sharpen details",
        CATEGORIES[0],
        "crisper edges",
        "Sharpen the photo so fine details and edges look crisp.",
    ),
    _p(
        "Reduce noise",
        CATEGORIES[0],
        "clean grain",
        "Denoise the photo, smoothing grain while keeping edges.",
    ),
    _p(
        "Warm it up",
        CATEGORIES[0],
        "golden light",
        "Make the colours warmer, like golden-hour light.",
    ),
    _p(
        "Cool it down",
        CATEGORIES[0],
        "cooler tones",
        "Make the colours cooler, with a fresh blue tint.",
    ),
    _p(
        "Remove object",
        CATEGORIES[0],
        "erase what is painted (needs a mask)",
        "Remove the object in the painted area and fill it naturally from its surroundings.",
    ),
    _p(
        "Fix white balance",
        CATEGORIES[0],
        "neutral colours",
        "Correct the white balance so whites look neutral and colours natural.",
    ),
    # Artistic styles
    _p(
        "Black and white",
        CATEGORIES[1],
        "classic monochrome",
        "Make it black and white with rich, even tones.",
    ),
    _p(
        "Sepia",
        CATEGORIES[1],
        "old photograph",
        "Give the photo a sepia tone like an old print.",
    ),
    _p(
        "Pencil sketch",
        CATEGORIES[1],
        "graphite drawing",
        "Turn the photo into a pencil sketch with clean graphite lines.",
    ),
    _p(
        "Oil painting",
        CATEGORIES[1],
        "painterly strokes",
        "Make it look like an oil painting with visible brush strokes.",
    ),
    _p(
        "Watercolour",
        CATEGORIES[1],
        "soft washes",
        "Repaint it as a watercolour with soft washes and paper texture.",
    ),
    _p(
        "Posterize",
        CATEGORIES[1],
        "flat colour bands",
        "Posterize the photo into a few flat bands of colour, like a screen print.",
    ),
    _p(
        "Pop art",
        CATEGORIES[1],
        "bold comic colours",
        "Turn it into bold pop art: saturate the colours, posterize them and outline the edges.",
    ),
    _p(
        "Cartoon",
        CATEGORIES[1],
        "clean cartoon look",
        "Make it look like a cartoon with flat colours and dark outlines.",
    ),
    _p(
        "Emboss",
        CATEGORIES[1],
        "relief in metal",
        "Emboss the photo so it looks pressed into metal.",
    ),
    _p(
        "Film noir",
        CATEGORIES[1],
        "moody monochrome",
        "Make it black and white with more contrast and a vignette, like film noir.",
    ),
    _p(
        "Impressionist",
        CATEGORIES[1],
        "dabs of light",
        "Repaint it in an impressionist style with short dabs of bright colour.",
    ),
    _p(
        "Ukiyo-e print",
        CATEGORIES[1],
        "Japanese woodblock",
        "Repaint it as a Japanese ukiyo-e woodblock print with flat colour and bold lines.",
    ),
    # Product and design
    _p(
        "Clean studio backdrop",
        CATEGORIES[2],
        "product on white",
        "Place the product on a clean white studio backdrop with a soft shadow.",
    ),
    _p(
        "Soft product blur",
        CATEGORIES[2],
        "blurred background",
        "Blur the painted background softly so the product stands out.",
    ),
    _p(
        "Outline drawing",
        CATEGORIES[2],
        "line art of the edges",
        "Turn the image into an outline drawing of its edges.",
    ),
    _p(
        "Vignette",
        CATEGORIES[2],
        "darker edges",
        "Add a soft vignette that darkens the corners and draws the eye to the centre.",
    ),
    _p(
        "Mirror",
        CATEGORIES[2],
        "flip horizontally",
        "Mirror the image, flipping it horizontally.",
    ),
    _p(
        "Lifestyle scene",
        CATEGORIES[2],
        "product in a home",
        "Place the product in a bright, tasteful living room scene with natural light.",
    ),
    _p(
        "Flat lay",
        CATEGORIES[2],
        "top-down arrangement",
        "Restage it as a top-down flat lay on a neutral surface with a few props.",
    ),
    _p(
        "Marble surface",
        CATEGORIES[2],
        "luxury backdrop",
        "Put the product on a polished white marble surface with gentle reflections.",
    ),
    _p(
        "Brand colour pop",
        CATEGORIES[2],
        "colour accent",
        "Saturate the colours of the subject and mute everything else.",
    ),
    _p(
        "Blueprint",
        CATEGORIES[2],
        "technical drawing",
        "Turn it into a white-on-blue technical blueprint drawing.",
    ),
    # Fun
    _p(
        "Pixel art",
        CATEGORIES[3],
        "8-bit look",
        "Pixelate it into chunky 8-bit pixel art.",
    ),
    _p(
        "Negative",
        CATEGORIES[3],
        "inverted colours",
        "Invert the colours like a film negative.",
    ),
    _p(
        "Night time",
        CATEGORIES[3],
        "day to night",
        "Turn the scene into night, darker and bluer, with lights glowing.",
    ),
    _p(
        "Dreamy glow",
        CATEGORIES[3],
        "soft haze",
        "Soften the photo with a dreamy glow, slightly brighter and a little blurry.",
    ),
    _p(
        "Snowy day",
        CATEGORIES[3],
        "add falling snow",
        "Add gently falling snow and a wintry light to the scene.",
    ),
    _p(
        "Neon cyberpunk",
        CATEGORIES[3],
        "neon city mood",
        "Restyle it as neon cyberpunk with magenta and teal light and rainy reflections.",
    ),
    _p(
        "Claymation",
        CATEGORIES[3],
        "clay figures",
        "Make everything look like a handmade clay animation model.",
    ),
    _p(
        "Vintage postcard",
        CATEGORIES[3],
        "faded travel card",
        "Make it sepia with a vignette, like a faded vintage postcard.",
    ),
    _p(
        "Comic book",
        CATEGORIES[3],
        "inked panels",
        "Turn it into a comic book panel: posterize the colours and ink the outlines.",
    ),
    _p(
        "Tiny planet",
        CATEGORIES[3],
        "spherical panorama",
        "Reshape the scene into a tiny planet, a spherical panorama seen from above.",
    ),
)


def by_name(name: str) -> Preset | None:
    return next((preset for preset in PRESETS if preset.name == name), None)


def search(query: str, presets: tuple[Preset, ...] = PRESETS) -> list[Preset]:
    """Presets whose name, summary or category contain every word of the query."""
    words = re.findall(r"\w+", query.lower())
    if not words:
        return list(presets)
    return [
        preset
        for preset in presets
        if all(
            word in f"{preset.name} {preset.summary} {preset.category}".lower()
            for word in words
        )
    ]


def works_offline(preset: Preset) -> bool:
    """Whether the offline engine can honour the preset with its classical edits."""
    from services.offline import effects  # the vocabulary lives with the offline engine

    return bool(effects.effects_in(preset.prompt))


def needs_mask(preset: Preset) -> bool:
    from services.offline import effects

    return any(effect.needs_mask for effect in effects.effects_in(preset.prompt))
