"""Image handling: decode and check uploads, normalise, resize, encode, masks, compositing.

Images cross the app as bytes; this module turns bytes into upright 8-bit RGB or RGBA
Pillow images exactly once, and back into PNG or JPEG bytes.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from services.errors import invalid_input

try:  # HEIC/HEIF support is optional: pillow-heif ships wheels for common platforms.
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - depends on the platform's wheels
    HEIF_SUPPORTED = False

ACCEPTED_FORMATS = {"PNG", "JPEG", "MPO", "WEBP", "GIF", "BMP", "TIFF", "HEIF"}
UPLOAD_EXTENSIONS = ["png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff"] + (
    ["heic", "heif"] if HEIF_SUPPORTED else []
)
MIME_BY_FORMAT = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "HEIF": "image/heif",
}
EXTENSION_BY_MIME = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/bmp": "bmp",
    "image/tiff": "tif",
    "image/heif": "heic",
    "video/mp4": "mp4",
}


@dataclass(frozen=True)
class CanvasFit:
    """Where the displayed image sits on the drawing canvas, in canvas pixels."""

    natural_width: float
    natural_height: float
    scale_x: float
    scale_y: float
    offset_x: float = 0.0
    offset_y: float = 0.0


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.1f} MP"


def load_image(data: bytes, name: str, max_pixels: int = 64_000_000) -> Image.Image:
    """Decode image bytes into an upright 8-bit RGB or RGBA image.

    The format is read from the bytes, never from the name. EXIF orientation is
    applied here and only here. Raises AtelierError(INVALID_INPUT) naming the file
    when the bytes are empty, not an image, truncated or over ``max_pixels``.
    """
    if not data:
        raise invalid_input(f"“{name}” is empty (0 bytes). Choose another file.")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow refuses before the size is known to us; its message carries the count.
        counted = re.search(r"\((\d+) pixels\)", str(exc))
        size = f" ({_megapixels(int(counted.group(1)))})" if counted else ""
        raise invalid_input(
            f"“{name}” has too many pixels to open safely{size}. The limit is "
            f"{_megapixels(max_pixels)}. Scale it down and upload it again.",
            detail=str(exc),
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise invalid_input(
            f"“{name}” is not an image Atelier can read. Use PNG, JPEG or WebP"
            + (" (or HEIC)." if HEIF_SUPPORTED else "."),
            detail=f"{type(exc).__name__}: {exc}",
        ) from exc

    if image.format not in ACCEPTED_FORMATS:
        raise invalid_input(
            f"“{name}” is a file of type {image.format}, which Atelier does not accept. "
            "Use PNG, JPEG or WebP.",
        )
    width, height = image.size
    if width * height > max_pixels:
        raise invalid_input(
            f"“{name}” is {width}×{height} ({_megapixels(width * height)}), over the "
            f"limit of {_megapixels(max_pixels)}. Scale it down and upload it again.",
        )

    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise invalid_input(
            f"“{name}” looks truncated or damaged and could not be read completely. "
            "Export it again and re-upload.",
            detail=f"{type(exc).__name__}: {exc}",
        ) from exc

    upright = ImageOps.exif_transpose(image)
    return to_display_mode(upright if upright is not None else image)


def to_display_mode(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB, or RGBA when the image has transparency."""
    mode = image.mode
    if mode in ("RGB", "L") and "transparency" in image.info:
        # A PNG's tRNS colour: pixels of that one colour are see-through.
        return image.convert("RGBA")
    if mode in ("RGB", "RGBA"):
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit (or 32-bit integer) greyscale: keep the full range, not the clipped low
        # byte that a plain convert("L") gives.
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if mode.startswith("I;16") or values.max() > 255 else 255.0
        scaled = np.clip(values / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(scaled, "L").convert("RGB")
    if mode == "F":
        values = np.asarray(image, dtype=np.float64)
        span = max(values.max() - values.min(), 1e-9)
        scaled = ((values - values.min()) / span * 255.0).astype(np.uint8)
        return Image.fromarray(scaled, "L").convert("RGB")
    if mode == "P":
        has_alpha = "transparency" in image.info
        return image.convert("RGBA" if has_alpha else "RGB")
    if mode in ("LA", "PA", "La", "RGBa"):
        return image.convert("RGBA")
    if mode == "CMYK":
        return image.convert("RGB")
    return image.convert("RGB")


def image_to_png(image: Image.Image, fast: bool = True) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1 if fast else 6)
    return buffer.getvalue()


def image_to_jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality, optimize=False)
    return buffer.getvalue()


def sniff_mime(data: bytes) -> str:
    """The MIME type of image or video bytes, read from the bytes themselves."""
    if data[4:8] == b"ftyp" and data[8:12] not in (b"heic", b"heix", b"mif1", b"heif"):
        return "video/mp4"
    try:
        with Image.open(io.BytesIO(data)) as probe:
            return MIME_BY_FORMAT.get(probe.format or "", "application/octet-stream")
    except (UnidentifiedImageError, OSError):
        return "application/octet-stream"


def extension_for(data: bytes) -> str:
    return EXTENSION_BY_MIME.get(sniff_mime(data), "bin")


def has_alpha(image: Image.Image) -> bool:
    if image.mode != "RGBA":
        return False
    extrema = image.getchannel("A").getextrema()
    return isinstance(extrema[0], int) and extrema[0] < 255


def fit_within(image: Image.Image, max_side: int) -> Image.Image:
    """A copy no longer than ``max_side`` on its longest side (never enlarged)."""
    width, height = image.size
    longest = max(width, height)
    if longest <= max_side:
        return image
    factor = max_side / longest
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


def encode_for_model(image: Image.Image, max_side: int) -> tuple[bytes, str]:
    """Scale an image down for a request and encode it: JPEG, or PNG to keep alpha."""
    scaled = fit_within(image, max_side)
    if has_alpha(scaled):
        return image_to_png(scaled, fast=False), "image/png"
    return image_to_jpeg(scaled, quality=90), "image/jpeg"


def encode_many_for_model(
    images: list[Image.Image],
    max_side: int,
    budget_bytes: int,
    mask: Image.Image | None = None,
) -> list[tuple[bytes, str]]:
    """Encode images for one request, shrinking them until they fit the byte budget.

    With ``mask`` (in the first image's pixels), its black-and-white hint comes last,
    as a PNG at exactly the size the first image is sent at, and counts in the
    budget too. Inline data travels as base64 (4/3 larger), so the budget is checked
    on that.
    """
    side = max_side
    while True:
        encoded = [encode_for_model(image, side) for image in images]
        if mask is not None:
            sent_size = fit_within(images[0], side).size
            encoded.append((image_to_png(mask_hint(mask, sent_size)), "image/png"))
        total = sum(len(data) for data, _ in encoded) * 4 // 3
        if total <= budget_bytes or side <= 512:
            return encoded
        side = int(side * 0.75)


def mask_from_canvas(
    drawing_rgba: np.ndarray,
    image_size: tuple[int, int],
    fit: CanvasFit | None = None,
) -> Image.Image | None:
    """Map the canvas drawing layer to a mask in the image's own pixels.

    ``drawing_rgba`` is the canvas's drawing layer (height × width × 4); any pixel with
    alpha above zero is painted. ``fit`` says where the background image sat on the
    canvas (its natural size, scale and offset); without it the image is assumed to
    fill the canvas. Returns an "L" mask of ``image_size`` (255 = edit), or None when
    nothing is painted inside the image.
    """
    if drawing_rgba.ndim != 3 or drawing_rgba.shape[2] < 4:
        raise ValueError("the canvas drawing must be an RGBA array")
    painted = (drawing_rgba[:, :, 3] > 0).astype(np.uint8) * 255
    if not painted.any():
        return None
    canvas_mask = Image.fromarray(painted, "L")
    canvas_width, canvas_height = canvas_mask.size

    if fit is None:
        box = (0.0, 0.0, float(canvas_width), float(canvas_height))
    else:
        shown_width = fit.natural_width * fit.scale_x
        shown_height = fit.natural_height * fit.scale_y
        box = (
            fit.offset_x,
            fit.offset_y,
            fit.offset_x + shown_width,
            fit.offset_y + shown_height,
        )

    scaled = canvas_mask.resize(image_size, Image.Resampling.BILINEAR, box=box)
    mask = scaled.point(lambda value: 255 if value >= 128 else 0)
    if mask.getbbox() is None:
        return None
    return mask


def feather_radius(image_size: tuple[int, int]) -> int:
    """The feather width for a mask on an image of this size, in pixels."""
    return max(2, round(max(image_size) * 0.004))


def feather_reach(image_size: tuple[int, int]) -> int:
    """How far past the painted mask the feathered edge can change pixels."""
    return 3 * feather_radius(image_size)


def feathered(mask: Image.Image) -> Image.Image:
    """A soft-edged mask: full strength over the painted area, fading outside it."""
    radius = feather_radius(mask.size)
    grown = mask.filter(ImageFilter.GaussianBlur(radius / 2)).point(
        lambda value: 255 if value > 8 else 0
    )
    soft = grown.filter(ImageFilter.GaussianBlur(radius / 2))
    # Keep the painted pixels at full strength whatever the blur did to them.
    return Image.fromarray(np.maximum(np.asarray(soft), np.asarray(mask)), "L")


def composite_masked(
    original: Image.Image, edited: Image.Image, mask: Image.Image
) -> Image.Image:
    """Blend the edited image into the original through a feathered mask.

    The edit is resized to the original's size whatever size it came in; pixels
    outside the mask and its feather keep the original's exact values.
    """
    if mask.size != original.size:
        raise ValueError("the mask must have the original image's size")
    edited_full = edited.convert(original.mode)
    if edited_full.size != original.size:
        edited_full = edited_full.resize(original.size, Image.Resampling.LANCZOS)
    return Image.composite(edited_full, original, feathered(mask))


def mask_hint(mask: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The mask as a black-and-white picture at the size of the image sent."""
    return mask.resize(size, Image.Resampling.NEAREST).convert("RGB")


def is_mask_picture(image: Image.Image) -> bool:
    """Whether a picture is a pure black-and-white mask with some white in it."""
    grey = image.convert("L")
    histogram = grey.histogram()
    extremes = histogram[0] + histogram[255]
    return extremes >= 0.995 * sum(histogram) and histogram[255] > 0


def _same_height(
    before: Image.Image, after: Image.Image, height: int
) -> list[Image.Image]:
    return [
        picture.convert("RGB").resize(
            (max(1, round(picture.width * height / picture.height)), height),
            Image.Resampling.LANCZOS,
        )
        for picture in (before, after)
    ]


def side_by_side(
    before: Image.Image, after: Image.Image, max_height: int = 1600
) -> Image.Image:
    """Before and after next to each other at one height, with a thin white gutter."""
    height = min(max_height, max(before.height, after.height))
    left, right = _same_height(before, after, height)
    gutter = max(4, height // 200)
    canvas = Image.new(
        "RGB", (left.width + gutter + right.width, height), (255, 255, 255)
    )
    canvas.paste(left, (0, 0))
    canvas.paste(right, (left.width + gutter, 0))
    return canvas


def wipe_comparison(
    before: Image.Image, after: Image.Image, position: float
) -> Image.Image:
    """``after`` with ``before`` showing left of ``position`` (0..1), split by a line."""
    target = after.convert("RGB")
    original = before.convert("RGB").resize(target.size, Image.Resampling.LANCZOS)
    split = round(max(0.0, min(1.0, position)) * target.width)
    shown = target.copy()
    shown.paste(original.crop((0, 0, split, target.height)), (0, 0))
    line = Image.new(
        "RGB", (max(2, target.width // 300), target.height), (255, 255, 255)
    )
    shown.paste(line, (max(0, split - line.width // 2), 0))
    return shown
