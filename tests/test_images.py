"""Decoding, normalising, mask mapping and compositing of images."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from services import gemini, images
from services.config import Settings
from services.errors import AtelierError, ErrorCode
from tests.conftest import upright_reference


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def test_exif_orientation_is_applied_once(photos: Path) -> None:
    data = (photos / "wood_phone_exif6.jpg").read_bytes()
    with Image.open(io.BytesIO(data)) as raw:
        assert raw.size == (4032, 3024)

    upright = images.load_image(data, "wood.jpg")

    assert upright.size == (3024, 4032)
    # Turned the right way, not just into a portrait: JPEG decoding is identical,
    # so the pixels match a reference rotated by hand from the EXIF tag.
    reference = upright_reference(photos / "wood_phone_exif6.jpg")
    assert np.array_equal(np.asarray(upright.convert("RGB")).astype(int), reference)
    again = images.load_image(images.image_to_png(upright), "again.png")
    assert again.size == (3024, 4032)
    assert np.array_equal(np.asarray(again.convert("RGB")).astype(int), reference)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("CMYK", "RGB"),
        ("P", "RGB"),
        ("LA", "RGBA"),
        ("L", "RGB"),
        ("RGBA", "RGBA"),
        ("I;16", "RGB"),
    ],
)
def test_awkward_modes_become_8_bit_rgb_or_rgba(
    photos: Path, mode: str, expected: str
) -> None:
    source = Image.open(photos / "chelsea.png").convert("RGB")
    if mode == "I;16":
        grey = np.asarray(source.convert("L"), dtype=np.uint16) * 257
        converted = Image.fromarray(grey)
        data = encoded(converted, "PNG")
    elif mode == "CMYK":
        data = encoded(source.convert("CMYK"), "JPEG")
    else:
        data = encoded(source.convert(mode), "PNG")

    picture = images.load_image(data, f"{mode}.img")

    assert picture.mode == expected
    assert picture.size == source.size
    if mode == "I;16":
        # The full 16-bit range maps back to the 8-bit values, not the low byte.
        expected_grey = np.asarray(source.convert("L"), dtype=int)
        assert np.abs(np.asarray(picture)[:, :, 0] - expected_grey).max() <= 1


def test_palette_with_transparency_keeps_its_alpha() -> None:
    palette = Image.new("P", (40, 30), 0)
    palette.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    palette.paste(1, (0, 0, 20, 30))
    data = encoded(palette, "PNG", transparency=0)

    picture = images.load_image(data, "palette.png")

    assert picture.mode == "RGBA"
    assert picture.getpixel((30, 10))[3] == 0
    assert picture.getpixel((5, 10)) == (0, 255, 0, 255)


def test_webp_decodes(photos: Path) -> None:
    data = encoded(Image.open(photos / "coffee.png").convert("RGB"), "WEBP")
    assert images.load_image(data, "coffee.webp").size == (600, 400)


def test_format_comes_from_the_bytes_not_the_name(photos: Path) -> None:
    data = (photos / "rocket.jpg").read_bytes()
    assert images.load_image(data, "misnamed.png").size == (640, 427)
    assert images.sniff_mime(data) == "image/jpeg"
    assert images.extension_for(encoded(Image.new("RGB", (4, 4)), "PNG")) == "png"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"this is a text file, not a picture", "not an image"),
    ],
)
def test_unusable_bytes_get_a_message_naming_the_file(data: bytes, words: str) -> None:
    with pytest.raises(AtelierError) as caught:
        images.load_image(data, "holiday.jpg")
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert "holiday.jpg" in caught.value.user_message
    assert words in caught.value.user_message


def test_a_truncated_file_is_reported(photos: Path) -> None:
    data = (photos / "ladybird.jpg").read_bytes()
    with pytest.raises(AtelierError) as caught:
        images.load_image(data[: len(data) // 2], "half.jpg")
    assert (
        "truncated" in caught.value.user_message
        and "half.jpg" in caught.value.user_message
    )


def test_too_many_pixels_is_refused_before_decoding() -> None:
    data = encoded(Image.new("L", (9000, 8000)), "PNG")
    with pytest.raises(AtelierError) as caught:
        images.load_image(data, "huge.png", max_pixels=64_000_000)
    assert (
        "huge.png" in caught.value.user_message
        and "9000×8000" in caught.value.user_message
    )


def test_a_decompression_bomb_is_refused() -> None:
    data = encoded(Image.new("1", (20000, 20000)), "PNG")
    assert len(data) < 200_000
    with pytest.raises(AtelierError) as caught:
        images.load_image(data, "bomb.png", max_pixels=10**10)
    assert "bomb.png" in caught.value.user_message
    assert "(400.0 MP)" in caught.value.user_message


def test_too_many_files_are_refused(photos: Path) -> None:
    data = (photos / "chelsea.png").read_bytes()
    settings = Settings(max_uploads=4)
    with pytest.raises(AtelierError) as caught:
        gemini.decode_inputs(
            settings, [gemini.InputImage(data, f"{i}.png") for i in range(5)]
        )
    assert "at most 4" in caught.value.user_message


def test_canvas_mask_maps_to_image_pixels_with_offset_undone() -> None:
    # A 600x400 canvas shows a 300x400 display image centred (offset 150), for an
    # original of 1500x2000; paint the top-left quarter of the shown image.
    drawing = np.zeros((400, 600, 4), dtype=np.uint8)
    drawing[0:200, 150:300, 3] = 200
    fit = images.CanvasFit(300, 400, 1.0, 1.0, 150, 0)

    mask = images.mask_from_canvas(drawing, (1500, 2000), fit)

    assert mask is not None and mask.size == (1500, 2000)
    pixels = np.asarray(mask)
    assert pixels[:990, :740].min() == 255
    assert pixels[1010:, :].max() == 0
    assert pixels[:, 760:].max() == 0


def test_an_empty_drawing_is_no_mask() -> None:
    assert (
        images.mask_from_canvas(np.zeros((10, 10, 4), dtype=np.uint8), (100, 100))
        is None
    )


def test_encoding_for_the_model_scales_down_and_keeps_alpha() -> None:
    opaque = Image.new("RGB", (4000, 3000), (1, 2, 3))
    clear = Image.new("RGBA", (100, 100), (1, 2, 3, 0))

    opaque_bytes, opaque_mime = images.encode_for_model(opaque, 2048)
    clear_bytes, clear_mime = images.encode_for_model(clear, 2048)

    assert opaque_mime == "image/jpeg"
    assert Image.open(io.BytesIO(opaque_bytes)).size == (2048, 1536)
    assert clear_mime == "image/png"


def test_side_by_side_puts_before_left_and_after_right_at_one_height() -> None:
    before = Image.new("RGB", (400, 300), (255, 0, 0))
    after = Image.new("RGB", (200, 150), (0, 0, 255))

    joined = images.side_by_side(before, after)

    assert joined.height == 300
    assert joined.getpixel((10, 150)) == (255, 0, 0)
    assert joined.getpixel((joined.width - 10, 150)) == (0, 0, 255)
    assert joined.width > 400 + 400


def test_wipe_comparison_shows_before_left_of_the_split() -> None:
    before = Image.new("RGB", (100, 50), (255, 0, 0))
    after = Image.new("RGB", (100, 50), (0, 0, 255))

    wiped = images.wipe_comparison(before, after, 0.3)

    assert wiped.getpixel((10, 25)) == (255, 0, 0)
    assert wiped.getpixel((90, 25)) == (0, 0, 255)


def test_the_mask_hint_is_sent_at_the_size_the_photo_is_sent_at() -> None:
    noise = np.random.default_rng(7).integers(0, 256, (1500, 2000, 4), dtype=np.uint8)
    photos = [Image.fromarray(noise, "RGBA"), Image.fromarray(noise[::-1], "RGBA")]
    mask = Image.new("L", (2000, 1500), 0)
    mask.paste(255, (500, 500, 900, 800))

    # A budget the full-size photos overrun, so they are shrunk to fit it.
    encoded = images.encode_many_for_model(photos, 2048, 6_000_000, mask)

    assert len(encoded) == 3
    assert sum(len(data) for data, _ in encoded) * 4 // 3 <= 6_000_000
    sizes = [Image.open(io.BytesIO(data)).size for data, _ in encoded]
    assert sizes[0][0] < 2000
    assert sizes[2] == sizes[0]
    assert encoded[2][1] == "image/png"
    assert images.is_mask_picture(Image.open(io.BytesIO(encoded[2][0])))


@pytest.mark.parametrize(("mode", "key"), [("L", 77), ("RGB", (10, 20, 30))])
def test_a_transparent_colour_in_a_grey_or_rgb_png_becomes_alpha(
    mode: str, key: object
) -> None:
    picture = Image.new(mode, (40, 30), key)  # type: ignore[arg-type]
    picture.paste(200 if mode == "L" else (200, 100, 50), (0, 0, 20, 30))
    data = encoded(picture, "PNG", transparency=key)

    loaded = images.load_image(data, "keyed.png")

    assert loaded.mode == "RGBA"
    alpha = np.asarray(loaded)[..., 3]
    assert (alpha[:, :20] == 255).all() and (alpha[:, 20:] == 0).all()
