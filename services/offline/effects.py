"""Classical image code behind the offline engine: keyword edits, scenes and styles."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

Pixels = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]
Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Effect:
    """One edit the offline engine understands, and the words that ask for it."""

    name: str
    keywords: tuple[str, ...]
    description: str
    needs_mask: bool = False


def phrases(listing: str) -> tuple[str, ...]:
    """Phrases from a "|"-separated listing, which keeps long keyword tables short."""
    return tuple(phrase.strip() for phrase in listing.split("|"))


def word_set(listing: str) -> frozenset[str]:
    return frozenset(listing.split())


EFFECTS: tuple[Effect, ...] = (
    Effect(
        "black and white",
        phrases(
            "black and white | black & white | black-and-white | b&w | b/w | "
            "grayscale | greyscale | gray scale | grey scale | monochrome | "
            "monochromatic | noir | colorless | colourless | remove colour | "
            "remove color | remove colours | remove colors"
        ),
        "Convert to neutral greys.",
    ),
    Effect(
        "sepia",
        phrases("sepia | vintage | old photo | old-fashioned | antique | retro | aged"),
        "Brown monotone with faded blacks, like an old print.",
    ),
    Effect(
        "brighten",
        phrases(
            "brighten | brighter | brighten up | lighten | lighter | more light | "
            "more exposure | increase brightness | brightness up | less dark | "
            "overexpose"
        ),
        "Lift the midtones without clipping.",
    ),
    Effect(
        "darken",
        phrases(
            "darken | darker | dim | dimmer | less bright | less light | "
            "reduce brightness | lower brightness | lower exposure | underexpose"
        ),
        "Lower the midtones without crushing the blacks.",
    ),
    Effect(
        "more contrast",
        phrases(
            "more contrast | contrast | higher contrast | high contrast | "
            "increase contrast | boost contrast | add contrast | "
            "stronger contrast | punchy | punchier"
        ),
        "Deeper shadows and cleaner highlights along a smooth S-curve.",
    ),
    Effect(
        "less contrast",
        phrases(
            "less contrast | lower contrast | low contrast | reduce contrast | "
            "decrease contrast | softer contrast | flatten | flatter | faded | "
            "matte"
        ),
        "Pull shadows and highlights toward the middle for a flat, matte look.",
    ),
    Effect(
        "saturate",
        phrases(
            "saturate | saturated | more saturated | more saturation | vivid | "
            "more vivid | vibrant | more vibrant | colourful | colorful | "
            "more colourful | more colorful | boost colours | boost colors | "
            "less muted"
        ),
        "Richer, more vivid colour.",
    ),
    Effect(
        "desaturate",
        phrases(
            "desaturate | desaturated | muted | less saturated | less saturation | "
            "less vivid | less colourful | less colorful | washed out"
        ),
        "Quieter, more muted colour.",
    ),
    Effect(
        "blur",
        phrases(
            "blur | blurry | blurred | blurrier | soften | softer | soft focus | "
            "out of focus | defocus | unfocused | less sharp"
        ),
        "Even Gaussian blur.",
    ),
    Effect(
        "sharpen",
        phrases(
            "sharpen | sharper | sharp | crisp | crisper | crispen | unblur | "
            "deblur | remove blur | fix blur | less blurry | less blur | in focus"
        ),
        "Unsharp masking for crisper edges.",
    ),
    Effect(
        "invert",
        phrases("invert | inverted | inverse | negative"),
        "Swap every colour for its opposite, like a film negative.",
    ),
    Effect(
        "pixelate",
        phrases(
            "pixelate | pixelated | pixelise | pixelised | pixelize | pixelized | "
            "pixel art | pixels | mosaic | 8-bit | 8 bit | 8bit | censor"
        ),
        "Large square blocks of flat colour.",
    ),
    Effect(
        "posterize",
        phrases(
            "posterize | posterise | posterized | posterised | posterization | "
            "posterisation | poster | pop art | screen print | flat colours | "
            "flat colors"
        ),
        "A few flat tonal bands per channel.",
    ),
    Effect(
        "sketch",
        phrases(
            "sketch | pencil | pencil drawing | pencil sketch | drawing | "
            "charcoal | hand drawn"
        ),
        "Grey pencil strokes on white paper.",
    ),
    Effect(
        "remove",
        phrases(
            "remove | erase | delete | get rid of | take out | take away | "
            "eliminate | clean up | inpaint"
        ),
        "Fill the masked area from its surroundings.",
        needs_mask=True,
    ),
    Effect(
        "warmer",
        phrases(
            "warmer | warm | warm up | warm tones | golden | golden hour | "
            "less cold | less cool"
        ),
        "Shift the white balance toward amber.",
    ),
    Effect(
        "cooler",
        phrases(
            "cooler | colder | cool tones | cool down | cooler tones | icy | "
            "bluer | less warm"
        ),
        "Shift the white balance toward blue.",
    ),
    Effect(
        "vignette",
        phrases(
            "vignette | vignetting | dark corners | darken corners | darker corners"
        ),
        "Darken the corners to draw the eye inward.",
    ),
    Effect(
        "emboss",
        phrases("emboss | embossed | embossing | relief"),
        "Grey relief, as if pressed into metal.",
    ),
    Effect(
        "outline",
        phrases(
            "outline | outlines | outline drawing | edge detection | detect edges | "
            "find edges | trace edges | edges only | only edges | line art | "
            "line drawing | contour | contours"
        ),
        "Dark contour lines on white.",
    ),
    Effect(
        "cartoon",
        phrases(
            "cartoon | cartoonish | cartoonify | comic | comic book | cel shaded | "
            "toon | anime"
        ),
        "Smoothed, banded colour with ink lines.",
    ),
    Effect(
        "denoise",
        phrases(
            "denoise | de-noise | noise reduction | reduce noise | remove noise | "
            "less noise | get rid of noise | remove grain | reduce grain | "
            "less grain | less grainy | less noisy | get rid of grain | smoothing grain | "
            "smooth grain | smooth out grain | smooth | smoother | "
            "smooth skin | smoother skin | soften skin | skin smoothing"
        ),
        "Edge-preserving smoothing that removes noise.",
    ),
    Effect(
        "mirror",
        phrases(
            "mirror | mirrored | mirror image | flip | flip horizontally | "
            "flip horizontal | flip it horizontally | horizontal flip | "
            "flip left to right"
        ),
        "Flip left to right.",
    ),
    Effect(
        "flip vertically",
        phrases(
            "flip vertically | flip vertical | flip it vertically | vertical flip | "
            "upside down | upside-down | flip upside down"
        ),
        "Flip top to bottom.",
    ),
    Effect(
        "night",
        phrases(
            "night | nighttime | night time | night-time | at night | midnight | "
            "moonlight | moonlit | day to night"
        ),
        "Day-for-night: darker, bluer and less saturated.",
    ),
    Effect(
        "oil painting",
        phrases(
            "oil painting | oil paint | painting | painterly | impressionist | "
            "brush strokes | brushstrokes"
        ),
        "Flat brush-like patches that keep edges (a Kuwahara filter).",
    ),
    Effect(
        "enhance",
        phrases(
            "enhance | auto enhance | auto-enhance | hdr | clarity | "
            "local contrast | more detail | more details | dynamic range"
        ),
        "Local contrast (CLAHE) and a touch of colour.",
    ),
    Effect(
        "glow",
        phrases("glow | glowing | soft glow | dreamy | bloom | ethereal | orton"),
        "A soft luminous haze over the highlights.",
    ),
    Effect(
        "blueprint",
        phrases(
            "blueprint | blueprint drawing | blueprints | cyanotype | technical drawing"
        ),
        "White technical lines on blueprint blue, over a faint grid.",
    ),
    Effect(
        "film grain",
        phrases(
            "film grain | grain | grainy | add grain | add noise | noisy | film look"
        ),
        "Fine monochrome grain.",
    ),
)

EFFECTS_BY_NAME = {effect.name: effect for effect in EFFECTS}

# Words that undo a request when they come just before it ("don't blur", or "keeping
# edges", which asks to protect them, not to draw them), words that scale it, and
# words that end the stretch of a sentence a request belongs to.
NEGATIONS = word_set(
    "no not dont don't without never avoid nor neither keep keeps keeping preserve "
    "preserves preserving retain retaining protect protecting"
)
MILD_WORDS = word_set(
    "slightly slight bit little touch subtle subtly gently gentle mild mildly "
    "somewhat tad hint"
)
STRONG_WORDS = word_set(
    "very much lot lots extremely really strongly heavily heavy way super "
    "dramatically dramatic intense intensely significantly strong totally"
)
CLAUSE_BREAKS = word_set("and but then also plus while instead or yet")
MILD_STRENGTH = 0.5
STRONG_STRENGTH = 1.7


def normalise_text(text: str) -> str:
    """Lower-case a prompt and fold its spelling variants so keywords match simply."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = text.replace("colour", "color").replace("grey", "gray")
    text = re.sub(r"(?<=\w)-(?=\w)", " ", text)
    text = re.sub(r"\s*([&/])\s*", r"\1", text)
    text = re.sub(r"\b(?:the|a|an)\b", " ", text)
    text = re.sub(r"\n+", ". ", text)
    return re.sub(r"[ \t\r\f\v]+", " ", text).strip()


def build_keyword_pattern() -> tuple[re.Pattern[str], dict[str, Effect]]:
    """One pattern over every keyword, longest first, so the longest phrase wins."""
    effect_by_keyword: dict[str, Effect] = {}
    for effect in EFFECTS:
        for keyword in effect.keywords:
            effect_by_keyword.setdefault(normalise_text(keyword), effect)
    alternatives = sorted(effect_by_keyword, key=len, reverse=True)
    body = "|".join(re.escape(keyword) for keyword in alternatives)
    pattern = re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])")
    return pattern, effect_by_keyword


KEYWORD_PATTERN, EFFECT_BY_KEYWORD = build_keyword_pattern()


def clause_words(text: str, reverse: bool) -> list[str]:
    """Words on one side of a match, up to the nearest punctuation or conjunction."""
    pieces = re.split(r"[.,;:!?()]", text)
    piece = pieces[-1] if reverse else pieces[0]
    words = re.findall(r"[a-z0-9']+", piece)
    if reverse:
        words.reverse()
    for index, word in enumerate(words):
        if word in CLAUSE_BREAKS:
            return words[:index]
    return words


def is_negated(words_before: list[str]) -> bool:
    return any(word in NEGATIONS or word.endswith("n't") for word in words_before[:4])


def strength_of(words_before: list[str], words_after: list[str]) -> float:
    nearby = set(words_before[:3]) | set(words_after[:3])
    if nearby & MILD_WORDS:
        return MILD_STRENGTH
    if nearby & STRONG_WORDS:
        return STRONG_STRENGTH
    return 1.0


def requested_effects(prompt: str) -> list[tuple[Effect, float]]:
    """Every effect the prompt asks for, in order, each with a strength near 1."""
    text = normalise_text(prompt)
    found: list[tuple[Effect, float]] = []
    keywords_used: list[str] = []
    for match in KEYWORD_PATTERN.finditer(text):
        effect = EFFECT_BY_KEYWORD[match.group(0)]
        words_before = clause_words(text[: match.start()], reverse=True)
        words_after = clause_words(text[match.end() :], reverse=False)
        if is_negated(words_before):
            continue
        keywords_used.append(match.group(0))
        if all(effect is not seen for seen, _ in found):
            found.append((effect, strength_of(words_before, words_after)))
    # A bare "flip" means left to right, unless the prompt says which way it flips
    # ("flip it upside down").
    names = [effect.name for effect, _ in found]
    mirror_words = [
        word for word in keywords_used if EFFECT_BY_KEYWORD[word].name == "mirror"
    ]
    if "flip vertically" in names and mirror_words and set(mirror_words) == {"flip"}:
        found = [
            (effect, strength) for effect, strength in found if effect.name != "mirror"
        ]
    return found


def effects_in(prompt: str) -> list[Effect]:
    """Every effect the prompt asks for, in the order the prompt names them.

    Matching is on whole words and phrases, British or American spelling, with the
    longest phrase winning ("less contrast" over "contrast", "remove noise" over
    "remove"). A request right after "no", "not", "don't", "without" or "keeping"
    is ignored.
    """
    return [effect for effect, _ in requested_effects(prompt)]


# Pixel helpers. Every operation takes an RGB uint8 array and returns a new one.


def size_scale(rgb: Pixels) -> float:
    """How much bigger than a 1024-pixel image this one is, for sizing kernels."""
    return float(max(rgb.shape[0], rgb.shape[1])) / 1024.0


def as_pixels(array: object) -> Pixels:
    return np.ascontiguousarray(array, dtype=np.uint8)


def as_floats(array: object) -> Floats:
    return np.ascontiguousarray(array, dtype=np.float32)


def curve_lookup(curve: Callable[[Floats], Floats]) -> Pixels:
    """A 256-entry table from a tone curve defined on 0..1."""
    levels = np.linspace(0.0, 1.0, 256, dtype=np.float32)
    return as_pixels(np.clip(np.rint(curve(levels) * 255.0), 0, 255))


def apply_lookup(rgb: Pixels, tables: Pixels | list[Pixels]) -> Pixels:
    """Map pixels through one table for all channels or one table per channel."""
    if isinstance(tables, list):
        table = np.stack(tables, axis=-1).reshape(1, 256, 3)
    else:
        table = tables.reshape(1, 256, 1).repeat(3, axis=2)
    return as_pixels(cv2.LUT(rgb, as_pixels(table)))


def gray_of(rgb: Pixels) -> Pixels:
    return as_pixels(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


def gray_to_rgb(gray: Pixels) -> Pixels:
    return as_pixels(cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB))


def mix(first: Pixels, second: Pixels, weight_of_second: float) -> Pixels:
    weight = float(np.clip(weight_of_second, 0.0, 1.0))
    return as_pixels(cv2.addWeighted(first, 1.0 - weight, second, weight, 0.0))


def resize_to(array: Pixels, width: int, height: int) -> Pixels:
    shrinking = width < array.shape[1]
    method = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return as_pixels(cv2.resize(array, (width, height), interpolation=method))


def shrink_to_fit(rgb: Pixels, longest_side: int) -> Pixels:
    height, width = rgb.shape[:2]
    factor = longest_side / max(height, width)
    if factor >= 1.0:
        return rgb
    return resize_to(rgb, max(1, round(width * factor)), max(1, round(height * factor)))


def gaussian_blur(array: Pixels, sigma: float) -> Pixels:
    """Gaussian blur that stays fast for large radii by blurring a smaller copy."""
    if sigma <= 0.3:
        return array
    if sigma <= 4.0:
        return as_pixels(cv2.GaussianBlur(array, (0, 0), sigma))
    height, width = array.shape[:2]
    factor = sigma / 2.0
    small = resize_to(
        array, max(1, round(width / factor)), max(1, round(height / factor))
    )
    small = as_pixels(cv2.GaussianBlur(small, (0, 0), 1.6))
    return as_pixels(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR))


def high_frequency_std(gray: Pixels) -> float:
    detail = gray.astype(np.float32) - cv2.GaussianBlur(gray, (0, 0), 1.5)
    return float(np.std(detail))


# The effects themselves, each honest classical image processing.


def black_and_white(rgb: Pixels, strength: float) -> Pixels:
    return gray_to_rgb(gray_of(rgb))


def sepia(rgb: Pixels, strength: float) -> Pixels:
    gray = gray_to_rgb(gray_of(rgb))
    # Faded blacks and a brown cast: red keeps its level, blue loses the most.
    toned = apply_lookup(
        gray,
        [
            curve_lookup(lambda t: 0.08 + 0.92 * t**0.9),
            curve_lookup(lambda t: 0.06 + 0.86 * t),
            curve_lookup(lambda t: 0.04 + 0.68 * t**1.15),
        ],
    )
    return mix(rgb, toned, min(1.0, 0.55 + 0.45 * strength))


def brighten(rgb: Pixels, strength: float) -> Pixels:
    gamma = 1.0 / (1.0 + 0.45 * strength)
    return apply_lookup(rgb, curve_lookup(lambda t: t**gamma))


def darken(rgb: Pixels, strength: float) -> Pixels:
    gamma = 1.0 + 0.5 * strength
    return apply_lookup(rgb, curve_lookup(lambda t: t**gamma))


def more_contrast(rgb: Pixels, strength: float) -> Pixels:
    steepness = 0.5 + 2.5 * strength

    def s_curve(t: Floats) -> Floats:
        return as_floats(
            0.5 + 0.5 * np.tanh(steepness * (t - 0.5)) / math.tanh(steepness * 0.5)
        )

    return apply_lookup(rgb, curve_lookup(s_curve))


def less_contrast(rgb: Pixels, strength: float) -> Pixels:
    keep = max(0.25, 1.0 - 0.35 * strength)
    return apply_lookup(rgb, curve_lookup(lambda t: 0.5 + (t - 0.5) * keep))


def saturate(rgb: Pixels, strength: float) -> Pixels:
    boost = 0.6 * strength
    gray = gray_to_rgb(gray_of(rgb))
    return as_pixels(cv2.addWeighted(rgb, 1.0 + boost, gray, -boost, 0.0))


def desaturate(rgb: Pixels, strength: float) -> Pixels:
    return mix(rgb, gray_to_rgb(gray_of(rgb)), min(0.9, 0.5 * strength))


def blur(rgb: Pixels, strength: float) -> Pixels:
    return gaussian_blur(rgb, 4.0 * strength * max(0.5, size_scale(rgb)))


def sharpen(rgb: Pixels, strength: float) -> Pixels:
    amount = 0.9 * strength
    softened = gaussian_blur(rgb, 1.2 * max(1.0, size_scale(rgb)))
    return as_pixels(cv2.addWeighted(rgb, 1.0 + amount, softened, -amount, 0.0))


def invert(rgb: Pixels, strength: float) -> Pixels:
    return as_pixels(cv2.bitwise_not(rgb))


def pixel_block_size(rgb: Pixels, strength: float) -> int:
    longest = int(max(rgb.shape[:2]))
    return max(2, round(longest * strength / 64))


def pixelate(rgb: Pixels, strength: float) -> Pixels:
    height, width = rgb.shape[:2]
    block = pixel_block_size(rgb, strength)
    columns, rows = math.ceil(width / block), math.ceil(height / block)
    small = as_pixels(cv2.resize(rgb, (columns, rows), interpolation=cv2.INTER_AREA))
    # Repeating each cell gives blocks exactly block wide, aligned to the top left.
    blocks = np.repeat(np.repeat(small, block, axis=0), block, axis=1)
    return as_pixels(blocks[:height, :width])


def posterize(rgb: Pixels, strength: float) -> Pixels:
    levels = max(2, round(7 - 2 * strength))
    step = levels - 1
    # A small median first, so areas band cleanly instead of speckling.
    calmer = as_pixels(cv2.medianBlur(rgb, 5))
    return apply_lookup(
        calmer, curve_lookup(lambda t: as_floats(np.rint(t * step) / step))
    )


def sketch(rgb: Pixels, strength: float) -> Pixels:
    gray = gray_of(rgb)
    blurred_negative = gaussian_blur(
        as_pixels(cv2.bitwise_not(gray)), 5.0 * max(0.5, size_scale(rgb))
    )
    # Colour dodge: flat areas go white, edges keep the pencil's darkness.
    dodged = as_pixels(cv2.divide(gray, cv2.bitwise_not(blurred_negative), scale=256))
    pencil = apply_lookup(
        gray_to_rgb(dodged), curve_lookup(lambda t: t ** (1.0 + 0.8 * strength))
    )
    return pencil


def warmer(rgb: Pixels, strength: float) -> Pixels:
    shift = 0.14 * strength
    return apply_lookup(
        rgb,
        [
            curve_lookup(lambda t: t ** (1.0 / (1.0 + shift))),
            curve_lookup(lambda t: t ** (1.0 / (1.0 + shift * 0.3))),
            curve_lookup(lambda t: t ** (1.0 + shift * 1.2)),
        ],
    )


def cooler(rgb: Pixels, strength: float) -> Pixels:
    shift = 0.14 * strength
    return apply_lookup(
        rgb,
        [
            curve_lookup(lambda t: t ** (1.0 + shift * 1.2)),
            curve_lookup(lambda t: t ** (1.0 + shift * 0.1)),
            curve_lookup(lambda t: t ** (1.0 / (1.0 + shift))),
        ],
    )


def vignette_weights(height: int, width: int, depth: float) -> Floats:
    """Per-pixel brightness factors, 1 in the middle falling off toward the corners."""
    # The falloff is smooth, so a small map scaled up is indistinguishable and cheap.
    small_height = max(2, round(256 * height / max(height, width)))
    small_width = max(2, round(256 * width / max(height, width)))
    ys = np.linspace(-1.0, 1.0, small_height, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, small_width, dtype=np.float32)[None, :]
    radius = np.sqrt(xs**2 + ys**2) / math.sqrt(2.0)
    falloff = np.clip((radius - 0.35) / 0.65, 0.0, 1.0)
    weights = 1.0 - depth * falloff**2 * (3.0 - 2.0 * falloff)
    return as_floats(
        cv2.resize(as_floats(weights), (width, height), interpolation=cv2.INTER_LINEAR)
    )


def vignette(rgb: Pixels, strength: float) -> Pixels:
    height, width = rgb.shape[:2]
    weights = vignette_weights(height, width, min(0.85, 0.5 * strength))
    return as_pixels(cv2.multiply(rgb, cv2.merge([weights] * 3), dtype=cv2.CV_8U))


def emboss(rgb: Pixels, strength: float) -> Pixels:
    scale = size_scale(rgb)
    gray = gaussian_blur(gray_of(rgb), 0.6 * scale)
    reach = max(1, round(scale))
    kernel = np.zeros((2 * reach + 1, 2 * reach + 1), dtype=np.float32)
    kernel[0, 0], kernel[-1, -1] = -1.0 - strength, 1.0 + strength
    kernel[0, reach], kernel[reach, 0] = -0.5, -0.5
    kernel[-1, reach], kernel[reach, -1] = 0.5, 0.5
    relief = cv2.filter2D(gray, cv2.CV_16S, kernel, delta=128.0)
    return gray_to_rgb(as_pixels(np.clip(relief, 0, 255)))


def strong_edges(gray: Pixels, share: float, thickness: int) -> Pixels:
    """Canny edges with thresholds set so about ``share`` percent of pixels qualify."""
    # Percentiles of the image's own gradients, so dim and busy photos both work.
    gradient = np.abs(cv2.Sobel(gray, cv2.CV_32F, 1, 0)) + np.abs(
        cv2.Sobel(gray, cv2.CV_32F, 0, 1)
    )
    high = max(8.0, float(np.percentile(gradient[::2, ::2], 100.0 - share)))
    edges = as_pixels(cv2.Canny(gray, 0.4 * high, high))
    if thickness > 1:
        shape = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (thickness, thickness))
        edges = as_pixels(cv2.dilate(edges, shape))
    return edges


def outline(rgb: Pixels, strength: float) -> Pixels:
    scale = size_scale(rgb)
    gray = gaussian_blur(gray_of(rgb), 1.5 * max(1.0, scale))
    thickness = max(1, round(scale * (0.6 + 0.4 * strength)))
    edges = strong_edges(gray, min(25.0, 10.0 * strength), thickness)
    return gray_to_rgb(as_pixels(cv2.bitwise_not(edges)))


BLUEPRINT_PAPER = (22, 72, 140)
BLUEPRINT_INK = (236, 244, 255)


def blueprint(rgb: Pixels, strength: float) -> Pixels:
    scale = size_scale(rgb)
    height, width = rgb.shape[:2]
    gray = gaussian_blur(gray_of(rgb), 1.5 * max(1.0, scale))
    thickness = max(1, round(scale * (0.6 + 0.4 * strength)))
    lines = strong_edges(gray, min(25.0, 10.0 * strength), thickness)
    # A faint drafting grid under the lines, spaced to the image's size.
    grid = np.zeros((height, width), dtype=np.uint8)
    step = max(8, round(32 * max(0.5, scale)))
    grid[::step, :] = 70
    grid[:, ::step] = 70
    ink = np.maximum(lines, grid).astype(np.float32)[..., None] / 255.0
    paper = np.array(BLUEPRINT_PAPER, dtype=np.float32)
    drawn = paper + (np.array(BLUEPRINT_INK, dtype=np.float32) - paper) * ink
    return as_pixels(np.clip(np.rint(drawn), 0, 255))


def cartoon(rgb: Pixels, strength: float) -> Pixels:
    height, width = rgb.shape[:2]
    small = shrink_to_fit(rgb, 1024)
    smooth = small
    for _ in range(3):
        smooth = as_pixels(cv2.bilateralFilter(smooth, 9, 40, 5))

    # Flat shading: lightness in broad bands, colour in finer steps (CIELAB).
    lab = cv2.cvtColor(smooth, cv2.COLOR_RGB2Lab).astype(np.int16)
    lightness_step = round(22 + 10 * strength)
    colour_step = 10
    lab[..., 0] = lab[..., 0] // lightness_step * lightness_step + lightness_step // 2
    chroma = (lab[..., 1:] - 128) // colour_step * colour_step + colour_step // 2
    lab[..., 1:] = chroma + 128
    banded = as_pixels(cv2.cvtColor(as_pixels(np.clip(lab, 0, 255)), cv2.COLOR_Lab2RGB))
    ink = strong_edges(as_pixels(cv2.medianBlur(gray_of(smooth), 5)), 8.0, 2)

    if small.shape[:2] != rgb.shape[:2]:
        banded = as_pixels(
            cv2.resize(banded, (width, height), interpolation=cv2.INTER_LINEAR)
        )
        ink = as_pixels(
            cv2.resize(ink, (width, height), interpolation=cv2.INTER_LINEAR)
        )
        ink = as_pixels(np.where(ink > 100, 255, 0))
    return as_pixels(cv2.bitwise_and(banded, banded, mask=cv2.bitwise_not(ink)))


def denoise(rgb: Pixels, strength: float) -> Pixels:
    scale = size_scale(rgb)
    diameter = 5 if scale > 2.5 else 7
    sigma_colour = 25.0 + 25.0 * strength
    smoothed = as_pixels(cv2.bilateralFilter(rgb, diameter, sigma_colour, 3.0 * scale))
    if strength > 1.0:
        smoothed = as_pixels(cv2.bilateralFilter(smoothed, diameter, sigma_colour, 3.0))
    return smoothed


def mirror(rgb: Pixels, strength: float) -> Pixels:
    return as_pixels(cv2.flip(rgb, 1))


def flip_vertically(rgb: Pixels, strength: float) -> Pixels:
    return as_pixels(cv2.flip(rgb, 0))


def night(rgb: Pixels, strength: float) -> Pixels:
    muted = desaturate(rgb, 0.8)
    power = 1.0 + 0.6 * strength
    moonlit = apply_lookup(
        muted,
        [
            curve_lookup(lambda t: 0.78 * t ** (power + 0.3)),
            curve_lookup(lambda t: 0.86 * t ** (power + 0.1)),
            curve_lookup(lambda t: 0.04 + 0.96 * t**power),
        ],
    )
    return vignette(moonlit, 0.6)


def kuwahara(rgb: Pixels, radius: int) -> Pixels:
    """Each pixel takes the mean of whichever of its four corner windows is calmest."""
    colour = rgb.astype(np.float32)
    brightness = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    window = (radius + 1, radius + 1)
    best_mean = np.zeros_like(colour)
    best_variance = np.full(brightness.shape, np.inf, dtype=np.float32)
    for anchor in ((radius, radius), (0, radius), (radius, 0), (0, 0)):

        def box(array: Floats, anchor: tuple[int, int] = anchor) -> Floats:
            return as_floats(
                cv2.boxFilter(
                    array, -1, window, anchor=anchor, borderType=cv2.BORDER_REFLECT
                )
            )

        mean_brightness = box(brightness)
        variance = box(brightness * brightness) - mean_brightness**2
        calmer = variance < best_variance
        best_variance = np.where(calmer, variance, best_variance)
        best_mean = np.where(calmer[..., None], box(colour), best_mean)
    return as_pixels(np.clip(best_mean, 0, 255))


def oil_painting(rgb: Pixels, strength: float) -> Pixels:
    height, width = rgb.shape[:2]
    small = shrink_to_fit(rgb, 1200)
    radius = max(2, round(max(small.shape[:2]) / 120 * (0.6 + 0.4 * strength)))
    painted = kuwahara(small, radius)
    painted = saturate(painted, 0.25)
    if small.shape[:2] != rgb.shape[:2]:
        painted = as_pixels(
            cv2.resize(painted, (width, height), interpolation=cv2.INTER_CUBIC)
        )
    return painted


def enhance(rgb: Pixels, strength: float) -> Pixels:
    lab = as_pixels(cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab))
    lightness, green_red, blue_yellow = cv2.split(lab)
    equaliser = cv2.createCLAHE(clipLimit=1.2 + 1.3 * strength, tileGridSize=(8, 8))
    lightness = as_pixels(equaliser.apply(lightness))
    enhanced = as_pixels(
        cv2.cvtColor(cv2.merge([lightness, green_red, blue_yellow]), cv2.COLOR_Lab2RGB)
    )
    return saturate(enhanced, 0.15 * strength)


def glow(rgb: Pixels, strength: float) -> Pixels:
    haze = gaussian_blur(rgb, 10.0 * max(0.5, size_scale(rgb)))
    # Screen blend: 1 - (1 - a)(1 - b), so the haze only ever lightens.
    screened = cv2.bitwise_not(
        cv2.multiply(cv2.bitwise_not(rgb), cv2.bitwise_not(haze), scale=1.0 / 255.0)
    )
    return mix(rgb, as_pixels(screened), min(0.85, 0.55 * strength))


def film_grain(rgb: Pixels, strength: float) -> Pixels:
    height, width = rgb.shape[:2]
    generator = np.random.default_rng(height * 100003 + width)
    noise = generator.standard_normal((height, width), dtype=np.float32)
    noise *= 9.0 * strength
    grain = cv2.merge([noise.astype(np.int16)] * 3)
    return as_pixels(
        np.clip(cv2.add(rgb.astype(np.int16), grain, dtype=cv2.CV_16S), 0, 255)
    )


Operation = Callable[[Pixels, float], Pixels]

OPERATIONS: dict[str, Operation] = {
    "black and white": black_and_white,
    "sepia": sepia,
    "brighten": brighten,
    "darken": darken,
    "more contrast": more_contrast,
    "less contrast": less_contrast,
    "saturate": saturate,
    "desaturate": desaturate,
    "blur": blur,
    "sharpen": sharpen,
    "invert": invert,
    "pixelate": pixelate,
    "posterize": posterize,
    "sketch": sketch,
    "warmer": warmer,
    "cooler": cooler,
    "vignette": vignette,
    "emboss": emboss,
    "outline": outline,
    "cartoon": cartoon,
    "denoise": denoise,
    "mirror": mirror,
    "flip vertically": flip_vertically,
    "night": night,
    "oil painting": oil_painting,
    "enhance": enhance,
    "glow": glow,
    "blueprint": blueprint,
    "film grain": film_grain,
}

# Effects that move pixels around; the alpha channel has to move with them.
FLIP_CODES = {"mirror": 1, "flip vertically": 0}


# Removing the masked area.

INPAINT_WORKING_SIDE = 640


def remove_masked(rgb: Pixels, region: npt.NDArray[np.bool_]) -> Pixels:
    """Fill the region from its surroundings with Telea inpainting; nothing else moves.

    Only a crop around the region is inpainted, shrunk to at most 640 pixels a side,
    so a 12 MP photo costs about what a small one does. The fill is scaled back up,
    given grain that matches the surroundings, and written into the region only.
    """
    if not region.any() or region.all():
        return rgb
    height, width = rgb.shape[:2]
    region_u8 = as_pixels(region) * np.uint8(255)
    left, top, box_width, box_height = cv2.boundingRect(region_u8)
    margin = max(16, round(0.35 * max(box_width, box_height)))
    x0, y0 = max(0, left - margin), max(0, top - margin)
    x1 = min(width, left + box_width + margin)
    y1 = min(height, top + box_height + margin)
    crop = rgb[y0:y1, x0:x1]
    crop_region = region_u8[y0:y1, x0:x1]
    crop_height, crop_width = crop.shape[:2]

    # Shrink; any small pixel that touches the region counts as part of it.
    factor = min(1.0, INPAINT_WORKING_SIDE / max(crop_height, crop_width))
    small_size = (
        max(1, round(crop_width * factor)),
        max(1, round(crop_height * factor)),
    )
    if factor < 1.0:
        small = resize_to(crop, *small_size)
        small_region = as_pixels(
            cv2.resize(crop_region, small_size, interpolation=cv2.INTER_AREA) > 0
        ) * np.uint8(255)
    else:
        small, small_region = crop, crop_region
    small_region = as_pixels(cv2.dilate(small_region, np.ones((3, 3), np.uint8)))
    filled_small = as_pixels(cv2.inpaint(small, small_region, 5, cv2.INPAINT_TELEA))
    # Telea leaves radial streaks; a soft blur inside the hole calms them.
    softened = as_pixels(cv2.GaussianBlur(filled_small, (0, 0), 2.0))
    filled_small = np.where(small_region[..., None] > 0, softened, filled_small)
    filled = as_pixels(
        cv2.resize(
            filled_small, (crop_width, crop_height), interpolation=cv2.INTER_LINEAR
        )
    )

    # A smooth fill looks pasted on; borrow the grain of the pixels just outside.
    gray = gray_of(crop)
    detail = gray.astype(np.float32) - cv2.GaussianBlur(gray, (0, 0), 1.5)
    ring = cv2.dilate(crop_region, np.ones((9, 9), np.uint8)) > 0
    ring &= crop_region == 0
    grain_std = float(np.std(detail[ring])) if ring.any() else 0.0
    inside = crop_region > 0
    if grain_std > 0.5:
        generator = np.random.default_rng(crop_width * 7919 + crop_height)
        grain = generator.standard_normal(int(inside.sum()), dtype=np.float32)
        values = filled[inside].astype(np.float32) + grain[:, None] * 0.8 * grain_std
        filled[inside] = as_pixels(np.clip(values, 0, 255))

    result = rgb.copy()
    result[y0:y1, x0:x1][inside] = filled[inside]
    return result


def mask_to_region(mask: Image.Image, size: tuple[int, int]) -> npt.NDArray[np.bool_]:
    grey_mask = mask.convert("L")
    if grey_mask.size != size:
        grey_mask = grey_mask.resize(size, Image.Resampling.NEAREST)
    return np.asarray(grey_mask) > 127


# Moving between Pillow images and the arrays the operations work on.


def split_image(image: Image.Image) -> tuple[Pixels, Pixels | None]:
    """The RGB pixels and, when the image has one, the alpha channel."""
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        rgba = np.asarray(image if image.mode == "RGBA" else image.convert("RGBA"))
        return as_pixels(rgba[..., :3]), as_pixels(rgba[..., 3])
    rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    return as_pixels(rgb), None


def join_image(rgb: Pixels, alpha: Pixels | None, mode: str) -> Image.Image:
    """An image in the original mode from processed RGB and the untouched alpha."""
    if alpha is None:
        joined = Image.fromarray(rgb)
    else:
        joined = Image.fromarray(np.dstack([rgb, alpha]))
    return joined if joined.mode == mode else joined.convert(mode)


def apply_effects(
    image: Image.Image, prompt: str, mask: Image.Image | None = None
) -> Image.Image | None:
    """Apply every effect the prompt names, in order, to the whole image.

    Args:
        image: the picture to edit, normally RGB or RGBA.
        prompt: the user's words; see ``effects_in`` for what is understood.
        mask: mode "L", the image's size, 255 where "remove" should fill. Other
            effects ignore it: the studio composites through the mask afterwards.

    Returns:
        A new image of the same size and mode, alpha untouched (flips move it along
        with the pixels), or None when the prompt names no effect it can carry out.
    """
    requests = [
        (effect, strength)
        for effect, strength in requested_effects(prompt)
        if mask is not None or not effect.needs_mask
    ]
    if not requests:
        return None

    rgb, alpha = split_image(image)
    for effect, strength in requests:
        if effect.needs_mask and mask is not None:
            rgb = remove_masked(rgb, mask_to_region(mask, image.size))
            continue
        rgb = OPERATIONS[effect.name](rgb, strength)
        if alpha is not None and effect.name in FLIP_CODES:
            alpha = as_pixels(cv2.flip(alpha, FLIP_CODES[effect.name]))
    return join_image(rgb, alpha, image.mode)


# Named colours, used both to read colour words and to name a palette.

NAMED_COLOURS: dict[str, Colour] = {
    "black": (18, 18, 20),
    "charcoal": (52, 55, 60),
    "slate grey": (100, 110, 122),
    "grey": (128, 128, 128),
    "silver": (192, 192, 196),
    "white": (247, 247, 244),
    "cream": (240, 228, 200),
    "beige": (214, 196, 160),
    "tan": (190, 150, 105),
    "brown": (120, 75, 40),
    "chocolate": (72, 42, 24),
    "rust": (170, 75, 35),
    "burgundy": (115, 25, 45),
    "red": (210, 35, 40),
    "crimson": (175, 20, 55),
    "coral": (245, 120, 95),
    "pink": (240, 150, 180),
    "magenta": (215, 45, 150),
    "peach": (250, 195, 160),
    "orange": (245, 135, 30),
    "deep orange": (205, 85, 20),
    "amber": (240, 170, 25),
    "gold": (225, 175, 50),
    "mustard": (195, 155, 40),
    "yellow": (250, 220, 50),
    "olive": (115, 120, 45),
    "lime": (170, 220, 60),
    "green": (60, 155, 70),
    "mint": (165, 230, 195),
    "sage": (150, 170, 135),
    "forest green": (35, 85, 45),
    "emerald": (20, 150, 95),
    "teal": (20, 128, 128),
    "turquoise": (50, 200, 200),
    "sky blue": (125, 185, 235),
    "blue": (40, 90, 200),
    "navy": (25, 35, 85),
    "indigo": (70, 40, 130),
    "purple": (120, 60, 160),
    "violet": (150, 100, 210),
    "lavender": (190, 170, 225),
    "plum": (105, 45, 85),
}
COLOUR_ALIASES = {
    "golden": "gold",
    "gray": "grey",
    "maroon": "burgundy",
    "scarlet": "red",
    "cyan": "turquoise",
    "aqua": "turquoise",
    "rose": "pink",
    "lilac": "lavender",
    "ivory": "cream",
    "sand": "beige",
    "copper": "rust",
    "aquamarine": "mint",
    "jade": "emerald",
}


def rgb_to_lab(colours: npt.NDArray[np.generic]) -> Floats:
    """CIELAB (L 0..100) of 8-bit RGB values, any leading shape."""
    flat = np.asarray(colours, dtype=np.float32).reshape(-1, 1, 3) / 255.0
    lab = cv2.cvtColor(flat, cv2.COLOR_RGB2Lab)
    return as_floats(lab).reshape(*np.shape(colours)[:-1], 3)


NAMED_COLOUR_LAB = rgb_to_lab(np.array(list(NAMED_COLOURS.values()), dtype=np.uint8))


def colour_name(lab: Floats) -> str:
    distances = np.sum((NAMED_COLOUR_LAB - lab[None, :]) ** 2, axis=1)
    return list(NAMED_COLOURS)[int(np.argmin(distances))]


def build_colour_pattern() -> tuple[re.Pattern[str], dict[str, Colour]]:
    """A pattern over colour names and their aliases, in normalised spelling."""
    colour_by_word = {normalise_text(name): rgb for name, rgb in NAMED_COLOURS.items()}
    for alias, name in COLOUR_ALIASES.items():
        colour_by_word[normalise_text(alias)] = NAMED_COLOURS[name]
    body = "|".join(re.escape(word) for word in sorted(colour_by_word, key=len)[::-1])
    return re.compile(rf"(?<![a-z])(?:{body})(?![a-z])"), colour_by_word


COLOUR_PATTERN, COLOUR_BY_WORD = build_colour_pattern()


def colour_words_in(text: str) -> list[Colour]:
    """Colours named in normalised text, in the order they appear."""
    return [COLOUR_BY_WORD[match.group(0)] for match in COLOUR_PATTERN.finditer(text)]


# Procedural scenes for text-to-image.


SCENE_WORDS: dict[str, frozenset[str]] = {
    "night": word_set(
        "night nighttime midnight moon moonlit moonlight starry stars nocturnal"
    ),
    "sunset": word_set(
        "sunset sunsets sunrise dusk dawn twilight evening sundown golden"
    ),
    "space": word_set(
        "space galaxy galaxies nebula cosmos cosmic universe planet planets "
        "astronaut outer"
    ),
    "water": word_set(
        "sea ocean oceans beach lake waves wave water river coast bay harbour harbor "
        "seaside shore lagoon"
    ),
    "beach": word_set("beach seaside shore coast sand"),
    "mountain": word_set(
        "mountain mountains peak peaks alps alpine summit volcano ridge"
    ),
    "forest": word_set(
        "forest forests woods woodland tree trees jungle pine pines rainforest"
    ),
    "desert": word_set("desert deserts dune dunes sand sahara canyon arid"),
    "city": word_set(
        "city cities skyline town buildings building urban street downtown "
        "metropolis skyscraper skyscrapers"
    ),
    "snow": word_set(
        "snow snowy winter ice icy arctic frozen snowfall christmas frost"
    ),
    "flowers": word_set(
        "flower flowers garden meadow field blossom blossoms tulips tulip roses "
        "spring poppies daisies bloom"
    ),
    "cat": word_set("cat cats kitten kittens kitty"),
    "fox": word_set("fox foxes"),
    "birds": word_set("bird birds gull gulls seagull seagulls flock crows"),
    "clouds": word_set("cloud clouds cloudy sky"),
}

# Base palettes by time of day: sky top, horizon, sun, far land, mid land, near land,
# water.
PALETTES: dict[str, dict[str, Colour]] = {
    "day": {
        "top": (62, 124, 196),
        "horizon": (196, 222, 240),
        "sun": (255, 250, 228),
        "far": (132, 160, 182),
        "mid": (84, 138, 84),
        "near": (46, 98, 52),
        "water": (36, 98, 148),
    },
    "sunset": {
        "top": (52, 42, 112),
        "horizon": (252, 164, 92),
        "sun": (255, 226, 160),
        "far": (150, 88, 118),
        "mid": (88, 50, 92),
        "near": (40, 24, 52),
        "water": (92, 60, 112),
    },
    "night": {
        "top": (6, 10, 32),
        "horizon": (38, 54, 100),
        "sun": (242, 236, 212),
        "far": (34, 44, 78),
        "mid": (20, 28, 52),
        "near": (10, 14, 28),
        "water": (14, 26, 58),
    },
    "space": {
        "top": (4, 4, 18),
        "horizon": (30, 16, 56),
        "sun": (255, 240, 220),
        "far": (40, 30, 70),
        "mid": (26, 20, 48),
        "near": (14, 10, 26),
        "water": (20, 20, 50),
    },
}
TERRAIN_COLOURS: dict[str, tuple[Colour, Colour, Colour]] = {
    "desert": ((226, 178, 118), (208, 146, 84), (176, 112, 60)),
    "snow": ((206, 220, 236), (228, 236, 246), (246, 249, 252)),
    "forest": ((78, 118, 98), (38, 86, 56), (20, 56, 34)),
    "city": ((120, 130, 150), (78, 86, 104), (46, 50, 64)),
}
# Default palettes rotated by the prompt's hash so different prompts look different.
ACCENT_HUES: tuple[Colour, ...] = (
    (232, 110, 90),
    (90, 150, 220),
    (240, 190, 80),
    (150, 110, 200),
    (80, 180, 160),
    (230, 120, 170),
)


@dataclass(frozen=True)
class SceneRequest:
    """What a text prompt asks a procedural scene to show."""

    time_of_day: str
    features: frozenset[str]
    colours: tuple[Colour, ...]
    hash_value: int


def read_scene(prompt: str, seed: int) -> SceneRequest:
    text = normalise_text(prompt)
    words = set(re.findall(r"[a-z]+", text))
    features = frozenset(
        name for name, vocabulary in SCENE_WORDS.items() if words & vocabulary
    )
    if "space" in features:
        time_of_day = "space"
    elif "night" in features:
        time_of_day = "night"
    elif "sunset" in features:
        time_of_day = "sunset"
    else:
        time_of_day = "day"
    digest = hashlib.sha256(f"{text}\x00{seed}".encode()).digest()
    return SceneRequest(
        time_of_day=time_of_day,
        features=features,
        colours=tuple(colour_words_in(text)),
        hash_value=int.from_bytes(digest[:8], "big"),
    )


def blend_colour(first: Colour, second: Colour, weight: float) -> Colour:
    return (
        round(first[0] + (second[0] - first[0]) * weight),
        round(first[1] + (second[1] - first[1]) * weight),
        round(first[2] + (second[2] - first[2]) * weight),
    )


class Canvas:
    """A float RGB picture being painted back to front, with shared coordinates.

    ``ys`` runs 0..1 down the picture and ``xs`` 0..width/height across it, so
    shapes keep their proportions at any aspect ratio; ``pixel`` is one pixel in
    those units, used to anti-alias edges.
    """

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.aspect = width / height
        self.pixel = 1.0 / height
        self.ys = as_floats(np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None])
        self.xs = as_floats(
            np.linspace(0.0, self.aspect, width, dtype=np.float32)[None, :]
        )
        self.pixels = np.zeros((height, width, 3), dtype=np.float32)

    def paint(self, colour: Colour | Floats, alpha: Floats | float) -> None:
        """Lay a colour (or a per-pixel colour image) over the canvas with an alpha."""
        paint = np.asarray(colour, dtype=np.float32) / 255.0
        weight = np.asarray(alpha, dtype=np.float32)
        if weight.ndim == 2:
            weight = weight[..., None]
        self.pixels += (paint - self.pixels) * weight

    def edge(self, signed_distance: Floats) -> Floats:
        """Anti-aliased coverage of the area where the signed distance is positive."""
        return as_floats(np.clip(signed_distance / self.pixel + 0.5, 0.0, 1.0))

    def distance_from(self, x: float, y: float) -> Floats:
        return as_floats(np.sqrt((self.xs - x) ** 2 + (self.ys - y) ** 2))


class Sprites:
    """Premultiplied shapes drawn with cv2, laid over the canvas in one step."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.colour = np.zeros((canvas.height, canvas.width, 3), dtype=np.uint8)
        self.alpha = np.zeros((canvas.height, canvas.width), dtype=np.uint8)

    def point(self, x: float, y: float) -> tuple[int, int]:
        """Canvas units to pixel coordinates with 4 bits of sub-pixel precision."""
        height = self.canvas.height
        return round(x * height * 16), round(y * height * 16)

    def length(self, value: float) -> int:
        return max(1, round(value * self.canvas.height * 16))

    def ellipse(
        self,
        centre: tuple[float, float],
        axes: tuple[float, float],
        colour: Colour,
        angle: float = 0.0,
    ) -> None:
        size = (self.length(axes[0]), self.length(axes[1]))
        for layer, value in ((self.colour, colour), (self.alpha, 255)):
            cv2.ellipse(
                layer,
                self.point(*centre),
                size,
                angle,
                0,
                360,
                value,
                -1,
                cv2.LINE_AA,
                4,
            )

    def polygon(self, points: list[tuple[float, float]], colour: Colour) -> None:
        outline_points = np.array([self.point(x, y) for x, y in points], dtype=np.int32)
        for layer, value in ((self.colour, colour), (self.alpha, 255)):
            cv2.fillPoly(layer, [outline_points], value, cv2.LINE_AA, 4)

    def stroke(
        self, points: list[tuple[float, float]], colour: Colour, width: float
    ) -> None:
        line = np.array([self.point(x, y) for x, y in points], dtype=np.int32)
        thickness = max(1, round(width * self.canvas.height))
        for layer, value in ((self.colour, colour), (self.alpha, 255)):
            cv2.polylines(layer, [line], False, value, thickness, cv2.LINE_AA, 4)

    def lay_down(self) -> None:
        coverage = self.alpha.astype(np.float32)[..., None] / 255.0
        pixels = self.canvas.pixels
        pixels *= 1.0 - coverage
        pixels += self.colour.astype(np.float32) / 255.0


def smooth_noise(
    generator: np.random.Generator, length: int, features: int, octaves: int = 3
) -> Floats:
    """1-D value noise in 0..1 with about ``features`` bumps across ``length``."""
    total = np.zeros(length, dtype=np.float32)
    weight_sum = 0.0
    for octave in range(octaves):
        knots = generator.random((1, features * 2**octave + 2)).astype(np.float32)
        # Cubic interpolation keeps slopes continuous, so hills have no corners.
        samples = cv2.resize(knots, (length, 1), interpolation=cv2.INTER_CUBIC)
        weight = 0.5**octave
        total += weight * as_floats(samples).reshape(length)
        weight_sum += weight
    return as_floats(np.clip(total / weight_sum, 0.0, 1.0))


def cloud_field(
    generator: np.random.Generator, width: int, height: int, stretch: float
) -> Floats:
    """2-D value noise in 0..1; ``stretch`` above 1 draws it out sideways."""
    total = np.zeros((height, width), dtype=np.float32)
    weight_sum = 0.0
    for octave in range(4):
        rows = 3 * 2**octave
        columns = max(2, round(rows * width / height / stretch))
        grid = generator.random((rows, columns)).astype(np.float32)
        layer = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        weight = 0.55**octave
        total += weight * as_floats(layer)
        weight_sum += weight
    return as_floats(np.clip(total / weight_sum, 0.0, 1.0))


def paint_sky(canvas: Canvas, palette: dict[str, Colour], horizon: float) -> None:
    top = np.asarray(palette["top"], dtype=np.float32) / 255.0
    low = np.asarray(palette["horizon"], dtype=np.float32) / 255.0
    progress = np.clip(canvas.ys / horizon, 0.0, 1.0) ** 1.4
    column = top + (low - top) * progress[..., None]
    canvas.pixels[:] = column


def paint_stars(
    canvas: Canvas, generator: np.random.Generator, horizon: float, density: float
) -> None:
    height, width = canvas.height, canvas.width
    count = int(density * width * height / 1000)
    xs = generator.integers(0, width, count)
    ys = (generator.random(count) ** 1.3 * horizon * height).astype(np.int64)
    ys = np.clip(ys, 0, height - 1)
    brightness = generator.random(count).astype(np.float32) ** 3
    light = np.zeros((height, width), dtype=np.float32)
    np.add.at(light, (ys, xs), brightness * 1.6)
    light = as_floats(cv2.GaussianBlur(light, (0, 0), max(0.6, height / 1400)))
    fade = np.clip((horizon - canvas.ys) / max(horizon, 1e-3) * 3.0, 0.0, 1.0)
    canvas.pixels += np.minimum(light * fade, 1.0)[..., None] * np.float32(0.95)


def paint_sun(
    canvas: Canvas,
    palette: dict[str, Colour],
    centre: tuple[float, float],
    radius: float,
    crescent: bool,
) -> None:
    distance = canvas.distance_from(*centre)
    halo = np.exp(-((distance / (radius * 4.0)) ** 2)) * 0.45
    canvas.paint(palette["sun"], as_floats(halo))
    disc = canvas.edge(radius - distance)
    if crescent:
        bite = canvas.distance_from(centre[0] + radius * 0.45, centre[1] - radius * 0.2)
        disc = as_floats(disc * (1.0 - canvas.edge(radius * 0.95 - bite)))
    canvas.paint(palette["sun"], disc)


def ridge_profile(
    canvas: Canvas,
    generator: np.random.Generator,
    base: float,
    height: float,
    features: int,
    jagged: bool,
) -> Floats:
    noise = smooth_noise(generator, canvas.width, features, octaves=4 if jagged else 2)
    if jagged:
        # Folding the noise turns its midline into sharp ridges.
        noise = as_floats(1.0 - np.abs(2.0 * noise - 1.0))
        noise = as_floats(noise**1.5)
    return as_floats(base - height * noise)


def paint_land(
    canvas: Canvas, profile: Floats, colour: Colour, shade: float = 0.25
) -> Floats:
    """Fill below a per-column skyline profile, darkening slightly with depth."""
    coverage = canvas.edge(canvas.ys - profile[None, :])
    depth = np.clip((canvas.ys - profile[None, :]) * 3.0, 0.0, 1.0)
    darker = blend_colour(colour, (0, 0, 0), shade)
    canvas.paint(colour, coverage)
    canvas.paint(darker, as_floats(coverage * depth))
    return coverage


def tree_line(
    canvas: Canvas, generator: np.random.Generator, base: Floats, tree_height: float
) -> Floats:
    spacing = tree_height * generator.uniform(0.35, 0.5)
    position = canvas.xs[0] / spacing + generator.random()
    index = np.floor(position).astype(np.int64)
    within = position - index
    heights = generator.uniform(0.55, 1.0, int(index.max()) + 2).astype(np.float32)
    peak = 1.0 - np.abs(2.0 * within - 1.0)
    return as_floats(base - tree_height * heights[index] * peak**0.9)


def paint_city(
    canvas: Canvas,
    generator: np.random.Generator,
    horizon: float,
    colour: Colour,
    lit_colour: Colour,
    lit_share: float,
) -> None:
    width_units = canvas.aspect
    edges = np.cumsum(generator.uniform(0.03, 0.09, 200))
    edges = edges[edges < width_units + 0.1]
    index = np.searchsorted(edges, canvas.xs[0])
    heights = generator.uniform(0.08, 0.34, len(edges) + 1).astype(np.float32)
    profile = as_floats(horizon + 0.02 - heights[index] * horizon)
    coverage = paint_land(canvas, profile, colour, shade=0.15)

    # Windows on a grid; a fixed random table decides which ones are lit.
    cell_width, cell_height = 0.012, 0.018
    column = np.floor(canvas.xs / cell_width).astype(np.int64)
    row = np.floor(canvas.ys / cell_height).astype(np.int64)
    in_cell_x = canvas.xs / cell_width - column
    in_cell_y = canvas.ys / cell_height - row
    lit_table = generator.random(4099) < lit_share
    lit = lit_table[(column * 131 + row * 977) % 4099]
    window = (np.abs(in_cell_x - 0.5) < 0.22) & (np.abs(in_cell_y - 0.5) < 0.25)
    below_roof = canvas.ys > profile[None, :] + 0.012
    windows = as_floats(window & lit & below_roof) * coverage
    canvas.paint(lit_colour, as_floats(windows * 0.9))


def paint_water(
    canvas: Canvas,
    palette: dict[str, Colour],
    generator: np.random.Generator,
    horizon: float,
    sun_x: float,
) -> None:
    below = canvas.edge(canvas.ys - horizon)
    depth = np.clip((canvas.ys - horizon) / max(1e-3, 1.0 - horizon), 0.0, 1.0)
    surface = blend_colour(palette["water"], palette["horizon"], 0.45)
    canvas.paint(surface, below)
    canvas.paint(palette["water"], as_floats(below * depth**0.6))

    # Ripples are stripes in depth seen in perspective: they crowd toward the
    # horizon, and fade out where they would get finer than a pixel.
    rise = np.maximum(canvas.ys - horizon, 0.0) + 0.004
    depth_into = 1.0 / rise
    across = (canvas.xs - sun_x) * depth_into
    phase = generator.uniform(0, 2 * math.pi)
    wobble = np.sin(across * 0.8 + phase) * 1.4 + np.sin(across * 0.23 + depth_into)
    ripples = np.sin(depth_into * 12.0 + wobble)
    resolvable = np.clip(rise**2 / (12.0 * canvas.pixel) - 0.5, 0.0, 1.0)
    crests = np.clip((ripples - 0.55) * 3.0, 0.0, 1.0) * resolvable * below
    canvas.paint(palette["horizon"], as_floats(crests * 0.3))

    # The sun's reflection: a glittering column that widens toward the viewer.
    spread = 0.025 + 0.2 * depth
    column = np.exp(-(((canvas.xs - sun_x) / spread) ** 2))
    glitter = np.clip(ripples * resolvable + (1.0 - resolvable) * 0.6, 0.0, 1.0)
    canvas.paint(palette["sun"], as_floats(column * glitter * below * 0.6))


def paint_dunes(
    canvas: Canvas,
    generator: np.random.Generator,
    horizon: float,
    colours: list[Colour],
) -> None:
    for layer, colour in enumerate(colours):
        base = horizon + layer * 0.09
        profile = ridge_profile(canvas, generator, base, 0.09, 2 + layer, jagged=False)
        coverage = canvas.edge(canvas.ys - profile[None, :])
        canvas.paint(colour, coverage)
        # The slope facing away from the light sits in shadow.
        slope = np.gradient(profile)[None, :] * canvas.height
        shadow = np.clip(slope * 3.0, 0.0, 1.0)
        shadow = shadow * np.clip((canvas.ys - profile[None, :]) * 12.0, 0.0, 1.0)
        canvas.paint(
            blend_colour(colour, (60, 30, 20), 0.35), as_floats(coverage * shadow)
        )


def draw_flowers(
    sprites: Sprites,
    generator: np.random.Generator,
    horizon: float,
    aspect: float,
    petal_colours: list[Colour],
) -> None:
    count = int(40 * aspect) + 10
    positions = sorted(
        zip(generator.random(count) ** 0.7, generator.random(count), strict=True)
    )
    for depth, across in positions:
        y = horizon + 0.08 + depth * (1.0 - horizon - 0.06)
        size = 0.008 + 0.03 * depth
        x = across * aspect
        sprites.stroke(
            [(x, y), (x + size * 0.2, y + size * 3)], (40, 90, 40), size * 0.25
        )
        colour = petal_colours[int(generator.integers(len(petal_colours)))]
        petals = 5 + int(generator.integers(3))
        turn = generator.uniform(0, 360)
        for petal in range(petals):
            angle = math.radians(turn + 360 * petal / petals)
            centre = (
                x + math.cos(angle) * size * 0.8,
                y + math.sin(angle) * size * 0.8,
            )
            sprites.ellipse(
                centre, (size * 0.75, size * 0.4), colour, math.degrees(angle)
            )
        sprites.ellipse((x, y), (size * 0.4, size * 0.4), (250, 200, 60))


def draw_cat(
    sprites: Sprites, x: float, ground: float, size: float, fur: Colour
) -> None:
    darker = blend_colour(fur, (0, 0, 0), 0.3)
    sprites.stroke(
        [
            (x + size * 0.22, ground - size * 0.05),
            (x + size * 0.42, ground - size * 0.1),
            (x + size * 0.5, ground - size * 0.35),
            (x + size * 0.44, ground - size * 0.55),
        ],
        darker,
        size * 0.07,
    )
    sprites.ellipse((x, ground - size * 0.3), (size * 0.27, size * 0.32), fur)
    head_y = ground - size * 0.72
    for side in (-1, 1):
        sprites.polygon(
            [
                (x + side * size * 0.18, head_y - size * 0.02),
                (x + side * size * 0.16, head_y - size * 0.3),
                (x + side * size * 0.03, head_y - size * 0.13),
            ],
            fur,
        )
    sprites.ellipse((x, head_y), (size * 0.2, size * 0.18), fur)
    for side in (-1, 1):
        eye = (x + side * size * 0.075, head_y - size * 0.02)
        sprites.ellipse(eye, (size * 0.035, size * 0.045), (190, 220, 90))
        sprites.ellipse(eye, (size * 0.012, size * 0.04), (10, 10, 10))
    sprites.polygon(
        [
            (x - size * 0.025, head_y + size * 0.05),
            (x + size * 0.025, head_y + size * 0.05),
            (x, head_y + size * 0.08),
        ],
        (230, 140, 150),
    )


def draw_fox(sprites: Sprites, x: float, ground: float, size: float) -> None:
    fur, cream, dark = (218, 108, 38), (246, 232, 210), (40, 26, 20)
    sprites.ellipse(
        (x - size * 0.36, ground - size * 0.14), (size * 0.36, size * 0.13), fur, -20.0
    )
    sprites.ellipse(
        (x - size * 0.66, ground - size * 0.24), (size * 0.1, size * 0.08), cream, -20.0
    )
    sprites.ellipse((x, ground - size * 0.3), (size * 0.24, size * 0.32), fur)
    sprites.ellipse((x, ground - size * 0.28), (size * 0.12, size * 0.24), cream)
    head_y = ground - size * 0.7
    for side in (-1, 1):
        ear = [
            (x + side * size * 0.2, head_y - size * 0.02),
            (x + side * size * 0.2, head_y - size * 0.34),
            (x + side * size * 0.04, head_y - size * 0.12),
        ]
        sprites.polygon(ear, dark)
    sprites.polygon(
        [
            (x - size * 0.24, head_y - size * 0.1),
            (x + size * 0.24, head_y - size * 0.1),
            (x + size * 0.12, head_y + size * 0.1),
            (x, head_y + size * 0.2),
            (x - size * 0.12, head_y + size * 0.1),
        ],
        fur,
    )
    sprites.polygon(
        [
            (x - size * 0.14, head_y + size * 0.04),
            (x + size * 0.14, head_y + size * 0.04),
            (x, head_y + size * 0.2),
        ],
        cream,
    )
    sprites.ellipse((x, head_y + size * 0.18), (size * 0.03, size * 0.025), dark)
    for side in (-1, 1):
        sprites.ellipse(
            (x + side * size * 0.09, head_y - size * 0.02),
            (size * 0.025, size * 0.03),
            dark,
        )


def draw_birds(
    sprites: Sprites,
    generator: np.random.Generator,
    horizon: float,
    aspect: float,
    colour: Colour,
) -> None:
    centre_x = generator.uniform(0.2, 0.8) * aspect
    centre_y = generator.uniform(0.12, 0.35) * horizon + 0.05
    for _ in range(int(generator.integers(4, 9))):
        x = centre_x + generator.normal(0, 0.08) * aspect
        y = centre_y + generator.normal(0, 0.04)
        span = generator.uniform(0.012, 0.024)
        sprites.stroke(
            [
                (x - span, y - span * 0.3),
                (x - span * 0.4, y - span * 0.45),
                (x, y),
                (x + span * 0.4, y - span * 0.45),
                (x + span, y - span * 0.3),
            ],
            colour,
            span * 0.14,
        )


def paint_snowfall(canvas: Canvas, generator: np.random.Generator) -> None:
    sprites = Sprites(canvas)
    count = int(180 * canvas.aspect)
    for _ in range(count):
        x = generator.random() * canvas.aspect
        y = generator.random()
        radius = generator.uniform(0.0015, 0.006)
        sprites.ellipse((x, y), (radius, radius), (250, 252, 255))
    sprites.alpha = as_pixels(sprites.alpha * np.float32(0.85))
    sprites.colour = as_pixels(sprites.colour * np.float32(0.85))
    sprites.lay_down()


def paint_nebula(
    canvas: Canvas, generator: np.random.Generator, colours: list[Colour]
) -> None:
    for colour in colours:
        field = cloud_field(generator, canvas.width, canvas.height, stretch=1.0)
        cloud = np.clip((field - 0.45) * 2.5, 0.0, 1.0) ** 1.5
        canvas.paint(colour, as_floats(cloud * 0.7))


def paint_planet(
    canvas: Canvas, generator: np.random.Generator, colour: Colour
) -> None:
    centre = (
        generator.uniform(0.25, 0.75) * canvas.aspect,
        generator.uniform(0.3, 0.7),
    )
    radius = generator.uniform(0.12, 0.22)
    distance = canvas.distance_from(*centre)
    disc = canvas.edge(radius - distance)
    # Light from the upper left: shade by how far each point sits from that side.
    across = ((canvas.xs - centre[0]) + (canvas.ys - centre[1])) / (2 * radius)
    lit = blend_colour(colour, (255, 255, 255), 0.25)
    canvas.paint(lit, disc)
    canvas.paint((6, 6, 16), as_floats(disc * np.clip(across + 0.2, 0.0, 0.85)))
    ring = as_floats(
        np.abs(
            np.sqrt(((canvas.xs - centre[0]) / 2.2) ** 2 + (canvas.ys - centre[1]) ** 2)
            - radius * 0.62
        )
    )
    band = canvas.edge(radius * 0.025 - ring)
    in_front = (canvas.ys > centre[1]) | (distance > radius)
    canvas.paint(
        blend_colour(colour, (240, 220, 200), 0.5), as_floats(band * in_front * 0.8)
    )


def tinted(
    palette: dict[str, Colour], sky: Colour | None, land: Colour | None
) -> dict[str, Colour]:
    result = dict(palette)
    if sky is not None:
        for role, weight in (("top", 0.45), ("horizon", 0.35), ("water", 0.35)):
            result[role] = blend_colour(result[role], sky, weight)
    if land is not None:
        for role, weight in (("far", 0.3), ("mid", 0.35), ("near", 0.3)):
            result[role] = blend_colour(result[role], land, weight)
    return result


def paint_scene(
    canvas: Canvas, scene: SceneRequest, generator: np.random.Generator
) -> None:
    """Compose the layers of a scene, back to front."""
    features = scene.features
    palette = dict(PALETTES[scene.time_of_day])
    accent = ACCENT_HUES[scene.hash_value % len(ACCENT_HUES)]
    sky_tint = scene.colours[0] if scene.colours else None
    land_tint = scene.colours[-1] if scene.colours else None
    for terrain in ("desert", "snow", "forest", "city"):
        if terrain in features:
            far, mid, near = TERRAIN_COLOURS[terrain]
            lighting = {"day": 0.0, "sunset": 0.45, "night": 0.75, "space": 0.8}
            shade = lighting[scene.time_of_day]
            palette["far"] = blend_colour(far, palette["far"], shade)
            palette["mid"] = blend_colour(mid, palette["mid"], shade)
            palette["near"] = blend_colour(near, palette["near"], shade)
            break
    if not scene.colours and not features:
        # A prompt with nothing we recognise still gets its own colours.
        sky_tint = accent
        land_tint = ACCENT_HUES[(scene.hash_value // 7) % len(ACCENT_HUES)]
    palette = tinted(palette, sky_tint, land_tint)

    has_water = "water" in features
    is_space = scene.time_of_day == "space"
    horizon = (
        generator.uniform(0.52, 0.6) if has_water else generator.uniform(0.58, 0.7)
    )
    if is_space and not (features - {"space", "night", "sunset"}):
        horizon = 1.05
    paint_sky(canvas, palette, horizon)

    # The sky: nebula and planet, stars and moon, or sun and cloud.
    sun_x = generator.uniform(0.2, 0.8) * canvas.aspect
    if is_space:
        paint_nebula(canvas, generator, [accent, sky_tint or (200, 60, 140)])
        paint_stars(canvas, generator, min(horizon, 1.0), density=1.6)
        paint_planet(canvas, generator, land_tint or (200, 140, 90))
    elif scene.time_of_day == "night":
        paint_stars(canvas, generator, horizon, density=1.2)
        moon_y = generator.uniform(0.15, 0.35) * horizon
        paint_sun(canvas, palette, (sun_x, moon_y), 0.05, crescent=True)
    else:
        sunset = scene.time_of_day == "sunset"
        sun_y = horizon - (0.06 if sunset else generator.uniform(0.3, 0.55) * horizon)
        radius = 0.09 if sunset else 0.05
        paint_sun(canvas, palette, (sun_x, sun_y), radius, crescent=False)
        if "clouds" in features or not sunset:
            field = cloud_field(generator, canvas.width, canvas.height, stretch=2.5)
            amount = 0.6 if "clouds" in features else 0.35
            cloud = np.clip((field - (1.0 - amount)) * 3.0, 0.0, 1.0)
            cloud *= np.clip((horizon - canvas.ys) * 4.0, 0.0, 1.0)
            cloud_colour = blend_colour(palette["horizon"], (255, 255, 255), 0.6)
            canvas.paint(cloud_colour, as_floats(cloud * 0.8))

    if horizon > 1.0:
        return

    # The land, far to near.
    if "mountain" in features:
        profile = ridge_profile(canvas, generator, horizon, 0.32, 3, jagged=True)
        paint_land(canvas, profile, palette["far"])
        # Snow caps only the peaks that rise above the snowline, deeper on higher ones.
        above_snowline = np.maximum(horizon - 0.17 - profile, 0.0)
        ragged = 0.5 + 0.5 * smooth_noise(generator, canvas.width, 40, octaves=2)
        cap_bottom = profile + above_snowline * 1.2 * ragged
        cap = canvas.edge(cap_bottom[None, :] - canvas.ys) * canvas.edge(
            canvas.ys - profile[None, :]
        )
        canvas.paint(
            blend_colour((240, 244, 250), palette["far"], 0.25), as_floats(cap)
        )
    elif not has_water:
        profile = ridge_profile(canvas, generator, horizon, 0.08, 2, jagged=False)
        paint_land(canvas, profile, palette["far"])
    else:
        island = ridge_profile(
            canvas, generator, horizon + 0.005, 0.05, 2, jagged=False
        )
        island = as_floats(np.where(island < horizon - 0.015, island, horizon + 0.01))
        paint_land(canvas, island, palette["far"])

    if "city" in features:
        night_lights = scene.time_of_day in ("night", "sunset")
        paint_city(
            canvas,
            generator,
            horizon,
            palette["mid"],
            (255, 214, 120) if night_lights else (200, 220, 236),
            0.45 if night_lights else 0.3,
        )

    if has_water:
        paint_water(canvas, palette, generator, horizon, sun_x)
        if "beach" in features:
            shore = ridge_profile(canvas, generator, 0.9, 0.08, 2, jagged=False)
            paint_land(canvas, shore, (228, 206, 160), shade=0.1)
    elif "desert" in features:
        paint_dunes(
            canvas,
            generator,
            horizon,
            [palette["far"], palette["mid"], palette["near"]],
        )
    else:
        for layer, role in enumerate(("mid", "near")):
            base = horizon + 0.06 + layer * 0.12
            profile = ridge_profile(
                canvas, generator, base, 0.07, 2 + layer, jagged=False
            )
            if "forest" in features:
                profile = tree_line(canvas, generator, profile, 0.12 + layer * 0.08)
            paint_land(canvas, profile, palette[role])

    # Subjects in front.
    sprites = Sprites(canvas)
    if "birds" in features:
        bird_colour = (240, 240, 235) if scene.time_of_day == "night" else (30, 30, 40)
        draw_birds(sprites, generator, horizon, canvas.aspect, bird_colour)
    if "flowers" in features:
        petals = list(scene.colours) or [(236, 88, 110), (250, 250, 245), accent]
        draw_flowers(sprites, generator, horizon, canvas.aspect, petals)
    subjects = [name for name in ("cat", "fox") if name in features]
    for number, subject in enumerate(subjects):
        x = canvas.aspect * (0.5 + (number - (len(subjects) - 1) / 2) * 0.3)
        x += generator.uniform(-0.08, 0.08) * canvas.aspect / max(1, len(subjects))
        ground, size = 0.93, 0.3
        sprites.ellipse((x, ground), (size * 0.35, size * 0.04), (10, 10, 10))
        if subject == "cat":
            fur = scene.colours[0] if scene.colours else (58, 56, 62)
            draw_cat(sprites, x, ground, size, fur)
        else:
            draw_fox(sprites, x, ground, size)
    sprites.lay_down()
    if "snow" in features:
        paint_snowfall(canvas, generator)


RENDER_WORKING_SIDE = 1024


def render_scene(prompt: str, size: tuple[int, int], seed: int = 0) -> Image.Image:
    """A procedural poster for a text prompt, the same every time for the same input.

    Colour words tint the palette; scene words (sunset, night, space, ocean, forest,
    mountain, desert, city, snow, flowers, cat, fox, birds...) choose the layers. The
    scene is painted at up to 1024 pixels a side and scaled to ``size``.

    Args:
        prompt: the user's description.
        size: (width, height) of the result in pixels.
        seed: varies placement and shapes without changing the theme.

    Returns:
        An RGB image of exactly ``size``.

    Raises:
        ValueError: when a side of ``size`` is not a positive whole number.
    """
    width, height = int(size[0]), int(size[1])
    if width < 1 or height < 1 or (width, height) != tuple(size):
        raise ValueError(
            f"Image size must be two positive whole numbers, not {size!r}."
        )
    scene = read_scene(prompt, seed)
    generator = np.random.default_rng(scene.hash_value)

    factor = min(1.0, RENDER_WORKING_SIDE / max(width, height))
    canvas = Canvas(max(2, round(width * factor)), max(2, round(height * factor)))
    paint_scene(canvas, scene, generator)

    # A soft paper grain and a gentle vignette make it read as a print.
    grain = generator.standard_normal((canvas.height, canvas.width), dtype=np.float32)
    canvas.pixels += (grain * 0.012)[..., None]
    canvas.pixels *= vignette_weights(canvas.height, canvas.width, 0.3)[..., None]
    painted = as_pixels(np.clip(canvas.pixels * 255.0 + 0.5, 0, 255))
    if painted.shape[:2] != (height, width):
        painted = as_pixels(
            cv2.resize(painted, (width, height), interpolation=cv2.INTER_CUBIC)
        )
    return Image.fromarray(painted)


# Style: colour statistics, texture and words.


def lab_statistics(rgb: Pixels) -> tuple[Floats, Floats]:
    lab = rgb_to_lab(shrink_to_fit(rgb, 512)).reshape(-1, 3)
    return as_floats(lab.mean(axis=0)), as_floats(lab.std(axis=0) + 1e-3)


def is_graphic(rgb: Pixels) -> bool:
    """Whether a picture is flat and poster-like: few colours, large even areas."""
    small = shrink_to_fit(rgb, 256)
    coarse = (small // 32).reshape(-1, 3).astype(np.int32)
    codes = coarse[:, 0] * 64 + coarse[:, 1] * 8 + coarse[:, 2]
    counts = np.sort(np.bincount(codes, minlength=512))[::-1]
    top_share = float(counts[:8].sum()) / len(codes)
    gray = gray_of(small)
    gradient = np.abs(cv2.Sobel(gray, cv2.CV_32F, 1, 0)) + np.abs(
        cv2.Sobel(gray, cv2.CV_32F, 0, 1)
    )
    flat_share = float(np.mean(gradient < 8.0))
    return top_share > 0.8 and flat_share > 0.55


def read_style_note(note: str) -> tuple[bool, bool]:
    """Whether a style note asks for only the colours, and whether for a gentle touch."""
    wording = normalise_text(note)
    colours_only = bool(
        re.search(r"\b(?:only|just)\s+(?:color|colors|palette)\b", wording)
        or re.search(r"\b(?:color|colors|palette)\s+only\b", wording)
    )
    gentle = bool(
        re.search(
            r"\b(?:subtle|subtly|slight|slightly|gentle|gently|bit|little|light|"
            r"keep\s+(?:\w+\s+)?faces?|keep\s+(?:\w+\s+)?people)\b",
            wording,
        )
    )
    return colours_only, gentle


def texture_move(original: Pixels, style_rgb: Pixels) -> str:
    """Which texture the style passes on: "posterize", "grain", "soften" or "none"."""
    if is_graphic(style_rgb):
        return "posterize"
    # Compare grain at the same working size so image size does not skew it.
    style_grain = high_frequency_std(gray_of(shrink_to_fit(style_rgb, 512)))
    content_grain = high_frequency_std(gray_of(shrink_to_fit(original, 512)))
    if style_grain > content_grain * 1.4 + 1.0:
        return "grain"
    if style_grain < content_grain * 0.6:
        return "soften"
    return "none"


TEXTURE_WORDS = {
    "posterize": "flat colour bands like the style's",
    "grain": "the style's grain",
    "soften": "the style's smoothness",
}


def describe_transfer(content: Image.Image, style: Image.Image, note: str = "") -> str:
    """In words, what ``transfer_style`` does for these images and this note."""
    colours_only, gentle = read_style_note(note)
    done = "Colour statistics transferred"
    move = "none"
    if not colours_only:
        move = texture_move(
            split_image(content)[0], shrink_to_fit(split_image(style)[0], 512)
        )
    if move != "none":
        done += f", with {TEXTURE_WORDS[move]}"
    elif colours_only:
        done += " (colours only, as the note asks)"
    if gentle:
        done += ", at half strength"
    return done + " (classical image processing, not AI)."


def transfer_style(
    content: Image.Image, style: Image.Image, note: str = ""
) -> Image.Image:
    """Give the content the style image's colour statistics and a little of its texture.

    Colour moves by matching mean and spread per CIELAB channel (Reinhard's transfer).
    A flat, graphic style also posterizes the content; a grainier style adds grain and
    a smoother one softens it. The note can ask for "only the colours" (no texture)
    or for something "subtle" or to "keep the faces" (about half strength).

    Returns:
        The restyled content, at the content's size and in its mode.
    """
    colours_only, gentle = read_style_note(note)
    strength = 0.5 if gentle else 1.0
    rgb, alpha = split_image(content)
    style_rgb = shrink_to_fit(split_image(style)[0], 512)

    # Colour: one affine map per Lab channel, applied in a single pass.
    content_mean, content_std = lab_statistics(rgb)
    style_mean, style_std = lab_statistics(style_rgb)
    ratio = np.clip(style_std / content_std, 0.4, 2.5)
    gain = 1.0 + strength * (ratio - 1.0)
    offset = strength * (style_mean - content_mean * ratio)
    matrix = np.zeros((3, 4), dtype=np.float32)
    matrix[np.arange(3), np.arange(3)] = gain
    matrix[:, 3] = offset
    lab = cv2.cvtColor(rgb.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_RGB2Lab)
    restyled_lab = cv2.transform(lab, matrix)
    restyled_float = cv2.cvtColor(restyled_lab, cv2.COLOR_Lab2RGB)
    restyled = as_pixels(np.clip(restyled_float * 255.0 + 0.5, 0, 255))

    if not colours_only:
        restyled = transfer_texture(restyled, rgb, style_rgb, strength)
    return join_image(restyled, alpha, content.mode)


def transfer_texture(
    restyled: Pixels, original: Pixels, style_rgb: Pixels, strength: float
) -> Pixels:
    move = texture_move(original, style_rgb)
    if move == "posterize":
        graphic = posterize(as_pixels(cv2.medianBlur(restyled, 5)), 1.0)
        return mix(restyled, graphic, strength)
    if move == "grain":
        style_grain = high_frequency_std(gray_of(shrink_to_fit(style_rgb, 512)))
        content_grain = high_frequency_std(gray_of(shrink_to_fit(original, 512)))
        return film_grain(
            restyled, min(1.5, (style_grain - content_grain) / 9.0) * strength
        )
    if move == "soften":
        softened = gaussian_blur(restyled, 1.0 * max(1.0, size_scale(restyled)))
        return mix(restyled, softened, 0.6 * strength)
    return restyled


def dominant_colours(rgb: Pixels, clusters: int = 6) -> list[tuple[Floats, float]]:
    """The main colours as (Lab centre, share of pixels), largest share first.

    A small deterministic k-means, seeded from the most populated coarse colour bins.
    """
    lab = rgb_to_lab(shrink_to_fit(rgb, 128)).reshape(-1, 3)
    bins = (
        np.clip(lab[:, 0] // 20, 0, 4) * 100
        + np.clip((lab[:, 1] + 100) // 20, 0, 9) * 10
        + np.clip((lab[:, 2] + 100) // 20, 0, 9)
    ).astype(np.int64)
    populated = np.argsort(np.bincount(bins))[::-1][:clusters]
    populated = populated[np.bincount(bins)[populated] > 0]
    centres = np.array(
        [lab[bins == code].mean(axis=0) for code in populated], np.float32
    )
    for _ in range(10):
        distances = ((lab[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        nearest = distances.argmin(axis=1)
        for index in range(len(centres)):
            members = lab[nearest == index]
            if len(members):
                centres[index] = members.mean(axis=0)
    shares = np.bincount(nearest, minlength=len(centres)) / len(lab)
    order = np.argsort(shares)[::-1]
    return [(as_floats(centres[index]), float(shares[index])) for index in order]


def join_words(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


@dataclass(frozen=True)
class ImageStatistics:
    """Numbers that summarise how a picture looks, on perceptual scales."""

    brightness: float  # mean CIELAB L, 0..100
    contrast: float  # spread of L
    saturation: float  # mean chroma
    warmth: float  # positive is warm, negative cool
    detail: float  # mean gradient at a fixed working size
    noise: float  # fine-grain spread at a fixed working size


def image_statistics(rgb: Pixels) -> ImageStatistics:
    small = shrink_to_fit(rgb, 384)
    lab = rgb_to_lab(small).reshape(-1, 3)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    gray = gray_of(small)
    gradient = np.hypot(
        cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)
    )
    # Noise is the fine grain left in the calmest half of the picture, where real
    # detail is scarce.
    fine = np.abs(gray.astype(np.float32) - cv2.GaussianBlur(gray, (0, 0), 1.0))
    calm = gradient <= np.median(gradient)
    return ImageStatistics(
        brightness=float(lab[:, 0].mean()),
        contrast=float(lab[:, 0].std()),
        saturation=float(chroma.mean()),
        warmth=float(lab[:, 2].mean() + 0.5 * lab[:, 1].mean()),
        detail=float(gradient.mean()),
        noise=float(fine[calm].mean()),
    )


def describe_style(style: Image.Image) -> str:
    """A short description of an image's look, from its statistics.

    Example: "Warm, high-contrast, vivid palette of deep orange, navy and cream;
    soft texture; bright."
    """
    rgb = split_image(style)[0]
    stats = image_statistics(rgb)
    names: list[str] = []
    for centre, share in dominant_colours(rgb):
        name = colour_name(centre)
        if name not in names and (share >= 0.04 or len(names) < 3):
            names.append(name)
        if len(names) == 5:
            break

    if stats.warmth > 15:
        warmth = "Warm"
    elif stats.warmth < 0:
        warmth = "Cool"
    else:
        warmth = "Neutral"
    if stats.contrast < 12:
        contrast = "low-contrast"
    elif stats.contrast > 24:
        contrast = "high-contrast"
    else:
        contrast = "medium-contrast"
    if stats.saturation < 10:
        saturation = "muted"
    elif stats.saturation > 35:
        saturation = "vivid"
    else:
        saturation = "moderately saturated"
    if stats.detail < 15:
        texture = "flat, graphic texture"
    elif stats.detail < 45:
        texture = "soft texture"
    elif stats.detail < 90:
        texture = "moderate detail"
    else:
        texture = "busy, fine-grained texture"
    if stats.brightness < 35:
        brightness = "dark"
    elif stats.brightness > 65:
        brightness = "bright"
    else:
        brightness = "mid-toned"
    palette = join_words(names)
    look = f"{warmth}, {contrast}, {saturation} palette of {palette}"
    return f"{look}; {texture}; {brightness}."


def suggest_edits(image: Image.Image) -> list[str]:
    """Four to six edit prompts that suit this image, each one ``effects_in`` reads."""
    stats = image_statistics(split_image(image)[0])
    fixes: list[str] = []
    if stats.brightness < 40:
        fixes.append("Make it brighter")
    elif stats.brightness > 72:
        fixes.append("Make it slightly darker")
    if stats.contrast < 16:
        fixes.append("Add more contrast")
    elif stats.contrast > 30:
        fixes.append("Lower the contrast a little")
    if stats.saturation < 14:
        fixes.append("Make the colours more vivid")
    elif stats.saturation > 40:
        fixes.append("Make the colours slightly more muted")
    if stats.warmth < -3:
        fixes.append("Make it warmer")
    elif stats.warmth > 35:
        fixes.append("Make it a little cooler")
    if stats.noise > 2.5:
        fixes.append("Reduce the noise")
    elif stats.detail < 25:
        fixes.append("Sharpen the details")

    # Creative ideas fill the rest, chosen so they suit the picture.
    ideas = [
        "Turn it into a pencil sketch",
        "Add a soft vignette",
        "Make it look like an oil painting",
    ]
    ideas.insert(
        0,
        "Make it black and white" if stats.saturation > 14 else "Give it a sepia look",
    )
    if stats.brightness > 45:
        ideas.append("Turn it into a night scene")
    suggestions = fixes[:4]
    for idea in ideas:
        if len(suggestions) >= 6 or (len(suggestions) >= 4 and len(fixes) >= 4):
            break
        suggestions.append(idea)
    return suggestions[:6]


# Prompt rewriting.

EFFECT_DETAILS: dict[str, str] = {
    "black and white": "Convert it to a rich black and white with deep blacks and "
    "clean highlights.",
    "sepia": "Give it a brown sepia tone like an aged print.",
    "brighten": "Lift the exposure so it is brighter while keeping highlight detail.",
    "darken": "Lower the exposure so it is darker while keeping shadow detail.",
    "more contrast": "Add more contrast with deeper shadows and cleaner highlights.",
    "less contrast": "Use less contrast for a matte look with lifted shadows.",
    "saturate": "Make the colours more vivid while keeping skin tones believable.",
    "desaturate": "Make the colours muted and understated.",
    "blur": "Apply an even blur across the frame.",
    "sharpen": "Sharpen fine texture and detail without halos.",
    "invert": "Invert every colour like a photographic negative.",
    "pixelate": "Pixelate it into large, even square blocks.",
    "posterize": "Posterize it into a few clean tonal bands.",
    "sketch": "Render it as a pencil sketch with clean strokes on plain paper.",
    "remove": "Remove it and fill the area seamlessly from its surroundings, "
    "leaving no trace or ghosting.",
    "warmer": "Shift the white balance warmer, toward golden tones.",
    "cooler": "Shift the white balance cooler, toward blue tones.",
    "vignette": "Add a vignette that falls off gradually toward the corners.",
    "emboss": "Emboss it like a relief pressed into metal.",
    "outline": "Trace the outlines as clean ink lines on a plain background.",
    "cartoon": "Turn it into a cartoon with bold ink lines and simplified shading.",
    "denoise": "Denoise it while keeping detail and texture natural.",
    "mirror": "Mirror it horizontally, swapping left and right.",
    "flip vertically": "Flip it vertically so it is upside down.",
    "night": "Turn it into a moonlit night scene.",
    "oil painting": "Render it as an oil painting with visible brush strokes.",
    "enhance": "Enhance it with balanced local contrast and clarity.",
    "glow": "Add a dreamy glow around the highlights.",
    "blueprint": "Redraw it as a blueprint: clean white lines on deep blue paper.",
    "film grain": "Add a fine, even film grain.",
}
KEEP_THE_REST = (
    "Keep the composition, framing, subject and everything else unchanged, "
    "and make the result look natural and free of artefacts."
)
GENERIC_PROMPT = (
    "Gently enhance this image: balance the exposure and colour, add a little "
    "clarity, and keep the composition and everything else unchanged."
)


def improve_prompt(prompt: str) -> str:
    """A longer, more specific version of a prompt that asks for the same effects.

    The original words come first, unchanged, so every effect they name is still
    named; a sentence of specifics follows for each effect, then a request to keep
    everything else as it was. An empty prompt gets a gentle all-round enhancement.
    """
    original = " ".join(prompt.split())
    if not original:
        return GENERIC_PROMPT
    opening = original[0].upper() + original[1:]
    if opening[-1] not in ".!?":
        opening += "."
    details = [EFFECT_DETAILS[effect.name] for effect in effects_in(original)]
    if not details:
        details = [
            "Make the change look natural and photographic, matching the lighting, "
            "perspective and colour of the original."
        ]
    return " ".join([opening, *details, KEEP_THE_REST])
