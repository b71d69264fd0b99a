"""Tests for the offline engine's classical image code in services.offline.effects."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageDraw

from services.offline import effects
from services.offline.effects import (
    EFFECTS,
    EFFECTS_BY_NAME,
    Effect,
    apply_effects,
    describe_style,
    effects_in,
    improve_prompt,
    render_scene,
    suggest_edits,
    transfer_style,
)
from tests.conftest import PHOTOS

PHOTO_FOLDERS = (PHOTOS,)

Array = npt.NDArray[np.float64]


def photo(name: str) -> Image.Image:
    for folder in PHOTO_FOLDERS:
        if (folder / name).exists():
            with Image.open(folder / name) as opened:
                return opened.convert("RGB")
    raise FileNotFoundError(name)


@pytest.fixture(scope="module")
def cat() -> Image.Image:
    return photo("chelsea.png")


@pytest.fixture(scope="module")
def coffee() -> Image.Image:
    return photo("coffee.png")


def pixels(image: Image.Image) -> Array:
    return np.asarray(image, dtype=np.float64)


def luminance(image: Image.Image) -> Array:
    rgb = pixels(image.convert("RGB"))
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def detail_energy(image: Image.Image) -> float:
    gray = np.asarray(image.convert("L"))
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def chroma(image: Image.Image) -> float:
    rgb = pixels(image)
    return float((rgb.max(axis=2) - rgb.min(axis=2)).mean())


def lab_means(image: Image.Image) -> Array:
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab), dtype=np.float64).mean(
        axis=(0, 1)
    )


def edited(image: Image.Image, prompt: str) -> Image.Image:
    result = apply_effects(image, prompt)
    assert result is not None, prompt
    assert result.size == image.size
    assert result.mode == image.mode
    return result


def navy_orange_poster() -> Image.Image:
    poster = Image.new("RGB", (400, 300), (20, 30, 90))
    drawing = ImageDraw.Draw(poster)
    drawing.rectangle((0, 200, 400, 300), fill=(240, 130, 30))
    drawing.ellipse((150, 50, 250, 150), fill=(245, 235, 210))
    return poster


# Reading prompts.


def test_there_are_at_least_twenty_effects_with_unique_names() -> None:
    names = [effect.name for effect in EFFECTS]
    assert len(EFFECTS) >= 20
    assert len(set(names)) == len(names)
    assert [effect.name for effect in EFFECTS if effect.needs_mask] == ["remove"]
    for effect in EFFECTS:
        assert effect.keywords, effect.name
        assert all(keyword == keyword.lower() for keyword in effect.keywords)
        assert effect.description


def test_every_effect_but_remove_has_an_operation() -> None:
    plain = {effect.name for effect in EFFECTS if not effect.needs_mask}
    assert plain == set(effects.OPERATIONS)


@pytest.mark.parametrize(
    ("effect", "keyword"),
    [(effect, keyword) for effect in EFFECTS for keyword in effect.keywords],
    ids=lambda value: value.name if isinstance(value, Effect) else value,
)
def test_each_keyword_asks_for_its_own_effect_and_nothing_else(
    effect: Effect, keyword: str
) -> None:
    assert effects_in(keyword) == [effect]
    assert effects_in(f"Please {keyword.upper()}, thanks!") == [effect]


def test_each_effect_name_is_itself_understood() -> None:
    for effect in EFFECTS:
        assert effects_in(effect.name) == [effect]


def test_effects_come_back_in_the_order_the_prompt_names_them() -> None:
    found = effects_in("Pixelate it, then make it black and white and a bit brighter")
    assert [effect.name for effect in found] == [
        "pixelate",
        "black and white",
        "brighten",
    ]
    found = effects_in("brighter and pixelated, brighter again")
    assert [effect.name for effect in found] == ["brighten", "pixelate"]


@pytest.mark.parametrize(
    ("prompt", "name"),
    [
        ("make it black and white", "black and white"),
        ("B&W", "black and white"),
        ("b & w please", "black and white"),
        ("Black-and-white", "black and white"),
        ("greyscale", "black and white"),
        ("grayscale", "black and white"),
        ("more colourful", "saturate"),
        ("more colorful", "saturate"),
        ("posterise it", "posterize"),
        ("posterize it", "posterize"),
        ("pixelise", "pixelate"),
        ("make it 8-bit", "pixelate"),
        ("remove the colour", "black and white"),
        ("remove the noise", "denoise"),
        ("get rid of the grain", "denoise"),
        ("remove the blur", "sharpen"),
        ("darken the corners", "vignette"),
        ("less contrast", "less contrast"),
        ("lower the contrast", "less contrast"),
        ("desaturate", "desaturate"),
        ("less colourful", "desaturate"),
        ("flip it vertically", "flip vertically"),
        ("flip it", "mirror"),
        ("soft glow", "glow"),
        ("smooth skin", "denoise"),
        ("a pencil drawing", "sketch"),
        ("line drawing", "outline"),
        ("turn day to night", "night"),
    ],
)
def test_spelling_variants_and_overlapping_phrases_pick_the_right_effect(
    prompt: str, name: str
) -> None:
    assert effects_in(prompt) == [EFFECTS_BY_NAME[name]]


@pytest.mark.parametrize(
    "prompt",
    [
        "",
        "   ",
        "a cat in a dark room",
        "put a hat on the dog",
        "whiten her teeth",
        "the darkroom",
        "blurb",
        "paint the fence",
    ],
)
def test_prompts_without_an_effect_find_nothing(prompt: str) -> None:
    assert effects_in(prompt) == []


def test_negated_requests_are_ignored() -> None:
    assert effects_in("don't blur it, just sharpen") == [EFFECTS_BY_NAME["sharpen"]]
    assert effects_in("no sepia; black and white") == [
        EFFECTS_BY_NAME["black and white"]
    ]
    assert effects_in("do not make it darker") == []
    assert effects_in("without a vignette") == []
    assert effects_in("no blur and brighter") == [EFFECTS_BY_NAME["brighten"]]


def test_flip_upside_down_is_one_vertical_flip() -> None:
    assert effects_in("flip it upside down") == [EFFECTS_BY_NAME["flip vertically"]]
    assert effects_in("flip it") == [EFFECTS_BY_NAME["mirror"]]
    assert effects_in("mirror it and turn it upside down") == [
        EFFECTS_BY_NAME["mirror"],
        EFFECTS_BY_NAME["flip vertically"],
    ]


def test_what_a_prompt_asks_to_keep_is_not_applied() -> None:
    assert effects_in("denoise it, smoothing grain while keeping edges") == [
        EFFECTS_BY_NAME["denoise"]
    ]
    assert effects_in("make it sepia but keep the faces sharp") == [
        EFFECTS_BY_NAME["sepia"]
    ]


# Each preset the offline engine honours, and the effects it should run for it: a
# preset's prompt is written for Gemini, so a stray keyword ("edges", "grain") could
# otherwise turn "Reduce noise" into a line drawing.
OFFLINE_PRESET_EFFECTS = {
    "Brighten": ["brighten"],
    "Darken": ["darken"],
    "More contrast": ["more contrast", "sharpen"],
    "Soft contrast": ["less contrast"],
    "Vivid colours": ["saturate"],
    "Muted colours": ["desaturate"],
    "Sharpen details": ["sharpen"],
    "Reduce noise": ["denoise"],
    "Warm it up": ["warmer"],
    "Cool it down": ["cooler"],
    "Remove object": ["remove"],
    "Black and white": ["black and white"],
    "Sepia": ["sepia"],
    "Pencil sketch": ["sketch"],
    "Oil painting": ["oil painting"],
    "Posterize": ["posterize"],
    "Pop art": ["posterize", "saturate", "outline"],
    "Cartoon": ["cartoon", "posterize", "outline"],
    "Emboss": ["emboss"],
    "Film noir": ["black and white", "more contrast", "vignette"],
    "Impressionist": ["oil painting"],
    "Soft product blur": ["blur"],
    "Outline drawing": ["outline"],
    "Vignette": ["vignette"],
    "Mirror": ["mirror"],
    "Brand colour pop": ["saturate"],
    "Blueprint": ["blueprint"],
    "Pixel art": ["pixelate"],
    "Negative": ["invert"],
    "Night time": ["night", "darken", "cooler", "glow"],
    "Dreamy glow": ["blur", "glow", "brighten"],
    "Vintage postcard": ["sepia", "vignette", "less contrast"],
    "Comic book": ["cartoon", "posterize", "outline"],
}


def test_each_preset_runs_the_offline_effects_it_names() -> None:
    from services import presets

    offline = {
        preset.name: [effect.name for effect in effects_in(preset.prompt)]
        for preset in presets.PRESETS
        if presets.works_offline(preset)
    }
    assert offline == OFFLINE_PRESET_EFFECTS


# Applying effects.


def test_a_prompt_with_no_effect_gives_none(cat: Image.Image) -> None:
    assert apply_effects(cat, "add a party hat") is None
    assert apply_effects(cat, "") is None


def test_remove_without_a_mask_gives_none_but_other_effects_still_run(
    cat: Image.Image,
) -> None:
    assert apply_effects(cat, "remove the person") is None
    inverted = apply_effects(cat, "remove the person and invert")
    assert inverted is not None
    assert np.array_equal(pixels(inverted), 255 - pixels(cat))


def test_black_and_white_makes_every_pixel_grey(cat: Image.Image) -> None:
    rgb = pixels(edited(cat, "make it black and white"))
    assert np.array_equal(rgb[..., 0], rgb[..., 1])
    assert np.array_equal(rgb[..., 1], rgb[..., 2])
    assert rgb.std() > 20


def test_sepia_is_a_single_brown_tone(coffee: Image.Image) -> None:
    after = edited(coffee, "sepia")
    rgb = pixels(after)
    assert (rgb[..., 0] >= rgb[..., 1]).mean() > 0.95
    assert (rgb[..., 1] >= rgb[..., 2]).mean() > 0.95
    hsv = cv2.cvtColor(np.asarray(after), cv2.COLOR_RGB2HSV)
    toned = hsv[..., 1] > 25
    assert toned.mean() > 0.5
    # OpenCV hue runs 0..180; browns and ambers sit between about 5 and 30.
    assert ((hsv[..., 0] >= 5) & (hsv[..., 0] <= 30))[toned].mean() > 0.95


def test_brighter_and_darker_move_mean_luminance(cat: Image.Image) -> None:
    original = luminance(cat).mean()
    assert luminance(edited(cat, "make it brighter")).mean() > original + 10
    assert luminance(edited(cat, "darker please")).mean() < original - 10


def test_strength_words_scale_the_effect(cat: Image.Image) -> None:
    slight = luminance(edited(cat, "slightly brighter")).mean()
    normal = luminance(edited(cat, "brighter")).mean()
    strong = luminance(edited(cat, "much brighter")).mean()
    assert slight < normal < strong


def test_contrast_changes_the_spread_of_luminance(cat: Image.Image) -> None:
    original = luminance(cat).std()
    assert luminance(edited(cat, "more contrast")).std() > original * 1.15
    assert luminance(edited(cat, "less contrast")).std() < original * 0.85


def test_saturation_changes_colourfulness(cat: Image.Image) -> None:
    original = chroma(cat)
    assert chroma(edited(cat, "more vivid")) > original * 1.2
    assert chroma(edited(cat, "muted")) < original * 0.8


def test_blur_lowers_and_sharpen_raises_high_frequency_energy(
    cat: Image.Image,
) -> None:
    original = detail_energy(cat)
    assert detail_energy(edited(cat, "blur")) < original * 0.3
    assert detail_energy(edited(cat, "sharpen")) > original * 1.5


def test_invert_is_the_exact_negative(cat: Image.Image) -> None:
    assert np.array_equal(pixels(edited(cat, "invert")), 255 - pixels(cat))


def test_pixelate_makes_square_blocks_of_equal_pixels(cat: Image.Image) -> None:
    result = pixels(edited(cat, "pixelate"))
    first_row = result[0]
    block = int(np.argmax(np.any(first_row != first_row[0], axis=1)))
    assert block >= 4
    height, width = result.shape[:2]
    whole_rows, whole_columns = height // block * block, width // block * block
    tiles = result[:whole_rows, :whole_columns].reshape(
        whole_rows // block, block, whole_columns // block, block, 3
    )
    assert np.all(tiles == tiles[:, :1, :, :1, :])
    assert len(np.unique(tiles[:, 0, :, 0].reshape(-1, 3), axis=0)) > 50


def test_posterize_leaves_a_few_levels_per_channel(cat: Image.Image) -> None:
    result = pixels(edited(cat, "posterise"))
    for channel in range(3):
        assert 2 <= len(np.unique(result[..., channel])) <= 6


def test_sketch_is_grey_pencil_on_white(cat: Image.Image) -> None:
    result = pixels(edited(cat, "pencil sketch"))
    assert np.array_equal(result[..., 0], result[..., 2])
    assert result.mean() > luminance(cat).mean() + 40
    assert (result < 128).mean() > 0.005


def test_warmer_and_cooler_shift_the_balance(cat: Image.Image) -> None:
    def red_minus_blue(image: Image.Image) -> float:
        rgb = pixels(image)
        return float((rgb[..., 0] - rgb[..., 2]).mean())

    original = red_minus_blue(cat)
    assert red_minus_blue(edited(cat, "warmer")) > original + 8
    assert red_minus_blue(edited(cat, "cooler")) < original - 8


def test_vignette_darkens_corners_and_keeps_the_centre(cat: Image.Image) -> None:
    before, after = luminance(cat), luminance(edited(cat, "add a vignette"))
    height, width = before.shape
    corner = (slice(0, height // 8), slice(0, width // 8))
    centre = (
        slice(height // 2 - 10, height // 2 + 10),
        slice(width // 2 - 10, width // 2 + 10),
    )
    assert after[corner].mean() < before[corner].mean() * 0.8
    assert abs(after[centre].mean() - before[centre].mean()) < 2


def test_emboss_is_a_grey_relief_around_mid_grey(cat: Image.Image) -> None:
    result = pixels(edited(cat, "emboss"))
    assert np.array_equal(result[..., 0], result[..., 1])
    assert abs(result.mean() - 128) < 20
    assert result.std() > 3


def test_outline_draws_dark_lines_on_white(cat: Image.Image) -> None:
    result = pixels(edited(cat, "outline"))
    assert set(np.unique(result)) <= {0.0, 255.0}
    black_share = (result[..., 0] == 0).mean()
    assert 0.01 < black_share < 0.3


def test_blueprint_draws_light_lines_on_blue(cat: Image.Image) -> None:
    result = pixels(edited(cat, "turn it into a blueprint"))
    red, green, blue = result[..., 0], result[..., 1], result[..., 2]
    assert (blue > red + 40).mean() > 0.6  # mostly blueprint blue
    lines = (red > 200) & (green > 200) & (blue > 200)
    assert 0.005 < lines.mean() < 0.3


def test_cartoon_flattens_colour_and_adds_ink(cat: Image.Image) -> None:
    result = edited(cat, "make it a cartoon")
    colours_before = len(np.unique(pixels(cat).reshape(-1, 3), axis=0))
    colours_after = len(np.unique(pixels(result).reshape(-1, 3), axis=0))
    assert colours_after < colours_before / 4
    assert (pixels(result).max(axis=2) == 0).mean() > 0.01


def test_denoise_brings_a_noisy_photo_back_toward_the_clean_one(
    cat: Image.Image,
) -> None:
    clean = pixels(cat)
    noise = np.random.default_rng(1).normal(0.0, 14.0, clean.shape)
    noisy = Image.fromarray(np.clip(clean + noise, 0, 255).astype(np.uint8))
    result = edited(noisy, "denoise")
    assert np.mean((pixels(result) - clean) ** 2) < 0.6 * np.mean(
        (pixels(noisy) - clean) ** 2
    )


def test_mirror_and_flip_move_pixels_exactly(cat: Image.Image) -> None:
    assert np.array_equal(pixels(edited(cat, "mirror")), pixels(cat)[:, ::-1])
    assert np.array_equal(pixels(edited(cat, "upside down")), pixels(cat)[::-1])


def test_night_is_darker_and_bluer(cat: Image.Image) -> None:
    before, after = pixels(cat), pixels(edited(cat, "make it night"))
    assert luminance(Image.fromarray(after.astype(np.uint8))).mean() < (
        luminance(cat).mean() - 15
    )
    assert after[..., 2].mean() / after[..., 0].mean() > (
        before[..., 2].mean() / before[..., 0].mean() + 0.2
    )


def test_oil_painting_removes_fine_detail_but_keeps_the_picture(
    cat: Image.Image,
) -> None:
    def typical_step(image: Image.Image) -> float:
        return float(np.median(np.abs(np.diff(luminance(image), axis=1))))

    result = edited(cat, "oil painting")
    # Brush patches are flat inside, so the typical step between neighbours shrinks.
    assert typical_step(result) < typical_step(cat) * 0.6
    assert np.abs(pixels(result) - pixels(cat)).mean() < 25


def test_enhance_raises_local_contrast(cat: Image.Image) -> None:
    def local_contrast(image: Image.Image) -> float:
        light = luminance(image)
        return float(np.abs(light - cv2.GaussianBlur(light, (0, 0), 8)).mean())

    assert local_contrast(edited(cat, "hdr")) > local_contrast(cat) * 1.2


def test_glow_lightens_and_softens(cat: Image.Image) -> None:
    result = edited(cat, "dreamy glow")
    assert luminance(result).mean() > luminance(cat).mean() + 5
    assert detail_energy(result) < detail_energy(cat)


def test_film_grain_adds_fine_noise_without_shifting_tone(cat: Image.Image) -> None:
    result = edited(cat, "film grain")
    assert detail_energy(result) > detail_energy(cat) * 1.5
    assert abs(luminance(result).mean() - luminance(cat).mean()) < 3
    assert np.array_equal(pixels(result), pixels(edited(cat, "film grain")))


def rgba_with_gradient_alpha(image: Image.Image) -> Image.Image:
    width, height = image.size
    alpha = np.tile(np.linspace(0, 255, width, dtype=np.uint8), (height, 1))
    alpha[: height // 3] = 255
    rgba = image.convert("RGBA")
    rgba.putalpha(Image.fromarray(alpha))
    return rgba


@pytest.mark.parametrize("effect", EFFECTS, ids=lambda effect: effect.name)
def test_every_effect_keeps_size_mode_and_alpha(
    effect: Effect, coffee: Image.Image
) -> None:
    small = coffee.resize((240, 160))
    rgba = rgba_with_gradient_alpha(small)
    mask = Image.new("L", rgba.size, 0)
    ImageDraw.Draw(mask).rectangle((80, 50, 140, 110), fill=255)

    result = apply_effects(rgba, effect.name, mask)

    assert result is not None
    assert result.size == rgba.size and result.mode == "RGBA"
    alpha_before = np.asarray(rgba.getchannel("A"))
    alpha_after = np.asarray(result.getchannel("A"))
    if effect.name == "mirror":
        alpha_before = alpha_before[:, ::-1]
    if effect.name == "flip vertically":
        alpha_before = alpha_before[::-1]
    assert np.array_equal(alpha_after, alpha_before)
    assert not np.array_equal(np.asarray(result), np.asarray(rgba))


def test_a_greyscale_image_comes_back_greyscale(cat: Image.Image) -> None:
    grey = cat.convert("L")
    result = edited(grey, "more contrast")
    assert result.mode == "L"
    assert luminance(result).std() > luminance(grey).std()


# Removing the masked area.


def red_disc_scene(base: Image.Image) -> tuple[Image.Image, Image.Image]:
    scene = base.copy()
    ImageDraw.Draw(scene).ellipse((420, 60, 520, 160), fill=(255, 0, 0))
    mask = Image.new("L", base.size, 0)
    ImageDraw.Draw(mask).ellipse((412, 52, 528, 168), fill=255)
    return scene, mask


def test_remove_fills_the_mask_from_its_surroundings_and_nothing_else(
    coffee: Image.Image,
) -> None:
    scene, mask = red_disc_scene(coffee)
    region = np.asarray(mask) > 127
    ring = cv2.dilate(region.astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
    ring &= ~region

    result = apply_effects(scene, "remove the red ball", mask)

    assert result is not None
    before, after = pixels(scene), pixels(result)
    assert np.array_equal(after[~region], before[~region])
    surroundings = before[ring].mean(axis=0)
    filled = after[region].mean(axis=0)
    assert np.linalg.norm(filled - surroundings) < 40
    red = np.array([255.0, 0.0, 0.0])
    assert np.linalg.norm(filled - surroundings) < 0.3 * np.linalg.norm(
        red - surroundings
    )
    reddish = (after[..., 0] > 200) & (after[..., 1] < 40) & (after[..., 2] < 40)
    assert reddish[region].mean() < 0.01


def test_remove_with_an_empty_mask_changes_nothing(cat: Image.Image) -> None:
    result = apply_effects(cat, "erase", Image.new("L", cat.size, 0))
    assert result is not None
    assert np.array_equal(pixels(result), pixels(cat))


def test_remove_on_a_twelve_megapixel_photo_is_local(
    coffee: Image.Image,
) -> None:
    scene, mask = red_disc_scene(coffee)
    big_scene = scene.resize((4032, 2688))
    big_mask = mask.resize((4032, 2688), Image.Resampling.NEAREST)
    region = np.asarray(big_mask) > 127

    result = apply_effects(big_scene, "delete it", big_mask)

    assert result is not None
    before, after = np.asarray(big_scene), np.asarray(result)
    assert np.array_equal(after[~region], before[~region])
    inside = after[region]
    reddish = (inside[:, 0] > 200) & (inside[:, 1] < 40) & (inside[:, 2] < 40)
    assert reddish.mean() < 0.01


def test_every_effect_handles_a_twelve_megapixel_photo(
    coffee: Image.Image,
) -> None:
    big = coffee.resize((4032, 3024))
    mask = Image.new("L", big.size, 0)
    ImageDraw.Draw(mask).rectangle((1500, 1000, 2300, 1700), fill=255)
    for effect in EFFECTS:
        result = apply_effects(big, effect.name, mask)
        assert result is not None and result.size == big.size


# Procedural scenes.


@pytest.mark.parametrize(
    "size", [(1024, 1024), (1344, 768), (768, 1344), (640, 480), (37, 300), (1, 1)]
)
def test_render_scene_is_exactly_the_requested_size(size: tuple[int, int]) -> None:
    image = render_scene("a sunset over the ocean", size)
    assert image.size == size
    assert image.mode == "RGB"


def test_render_scene_is_deterministic() -> None:
    first = render_scene("a fox in a snowy forest at night", (320, 240), seed=7)
    second = render_scene("a fox in a snowy forest at night", (320, 240), seed=7)
    assert first.tobytes() == second.tobytes()


def test_different_prompts_and_seeds_give_visibly_different_scenes() -> None:
    prompts = [
        "a sunset over the ocean",
        "a misty forest in the mountains",
        "a cat in a flower meadow",
        "a city skyline at night",
        "outer space nebula",
        "desert dunes",
        "a red car",
        "a blue car",
    ]
    scenes = [pixels(render_scene(prompt, (256, 192))) for prompt in prompts]
    for first in range(len(scenes)):
        for second in range(first + 1, len(scenes)):
            difference = np.abs(scenes[first] - scenes[second]).mean()
            assert difference > 8, (prompts[first], prompts[second])
    seeded = [pixels(render_scene("mountains", (256, 192), seed=s)) for s in (0, 1)]
    assert np.abs(seeded[0] - seeded[1]).mean() > 3


def test_render_scene_looks_like_a_picture_not_noise() -> None:
    scene = pixels(render_scene("a cat in a flower meadow", (512, 384)))
    neighbour_step = np.abs(np.diff(scene, axis=1)).mean()
    assert neighbour_step < 8
    assert scene.std() > 20


def test_colour_words_set_the_palette() -> None:
    red = pixels(render_scene("a red poster", (200, 200)))
    blue = pixels(render_scene("a blue poster", (200, 200)))
    assert (
        red[..., 0].mean() - red[..., 2].mean()
        > blue[..., 0].mean() - blue[..., 2].mean() + 20
    )


def test_night_scenes_are_darker_than_day_scenes() -> None:
    night = luminance(render_scene("mountains at night", (300, 200))).mean()
    day = luminance(render_scene("mountains", (300, 200))).mean()
    assert night < day - 40


def test_render_scene_makes_large_images() -> None:
    image = render_scene("a fox in a snowy forest at sunset with birds", (2048, 2048))
    assert image.size == (2048, 2048)
    assert render_scene("space", (4096, 4096)).size == (4096, 4096)


def test_render_scene_refuses_an_empty_size() -> None:
    with pytest.raises(ValueError, match="positive"):
        render_scene("a sunset", (0, 100))


# Style transfer and description.


def test_transfer_style_moves_lab_means_toward_the_style(
    cat: Image.Image, coffee: Image.Image
) -> None:
    result = transfer_style(cat, coffee)
    assert result.size == cat.size and result.mode == cat.mode
    before = np.linalg.norm(lab_means(cat) - lab_means(coffee))
    after = np.linalg.norm(lab_means(result) - lab_means(coffee))
    assert after < before * 0.35


def test_subtle_transfer_moves_less_than_full(
    cat: Image.Image, coffee: Image.Image
) -> None:
    full = np.linalg.norm(lab_means(transfer_style(cat, coffee)) - lab_means(coffee))
    subtle = transfer_style(cat, coffee, "keep the faces, subtle")
    subtle_distance = np.linalg.norm(lab_means(subtle) - lab_means(coffee))
    original = np.linalg.norm(lab_means(cat) - lab_means(coffee))
    assert full < subtle_distance < original


def test_a_graphic_style_posterizes_unless_only_colours_are_asked(
    cat: Image.Image,
) -> None:
    poster = navy_orange_poster()

    def colour_count(image: Image.Image) -> int:
        return len(np.unique(pixels(image).reshape(-1, 3), axis=0))

    graphic = transfer_style(cat, poster)
    colours_only = transfer_style(cat, poster, "only the colours")
    assert colour_count(graphic) < colour_count(colours_only) / 3
    assert np.linalg.norm(lab_means(colours_only) - lab_means(poster)) < 0.35 * (
        np.linalg.norm(lab_means(cat) - lab_means(poster))
    )


def test_transfer_style_keeps_content_size_and_alpha(
    coffee: Image.Image, cat: Image.Image
) -> None:
    content = rgba_with_gradient_alpha(coffee.resize((300, 200)))
    result = transfer_style(content, cat)
    assert result.size == (300, 200) and result.mode == "RGBA"
    assert np.array_equal(
        np.asarray(result.getchannel("A")), np.asarray(content.getchannel("A"))
    )


def test_describe_style_names_the_dominant_colours() -> None:
    description = describe_style(navy_orange_poster())
    for colour in ("navy", "orange", "cream"):
        assert colour in description
    assert "flat" in description
    assert description.endswith(".")


def test_describe_style_reads_brightness_and_warmth(cat: Image.Image) -> None:
    assert "dark" in describe_style(Image.new("RGB", (64, 64), (15, 20, 40)))
    assert "bright" in describe_style(Image.new("RGB", (64, 64), (245, 240, 225)))
    description = describe_style(cat)
    assert description.startswith("Warm")
    assert any(name in description for name in effects.NAMED_COLOURS)


# Suggestions and prompt rewriting.


@pytest.mark.parametrize(
    "name", ["chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg"]
)
def test_every_suggestion_is_an_edit_the_engine_understands(name: str) -> None:
    suggestions = suggest_edits(photo(name))
    assert 4 <= len(suggestions) <= 6
    assert len(set(suggestions)) == len(suggestions)
    for suggestion in suggestions:
        assert effects_in(suggestion), suggestion


def test_suggestions_fit_the_image() -> None:
    dark = Image.new("RGB", (128, 128), (25, 22, 30))
    assert any("brighter" in text for text in suggest_edits(dark))
    dull = Image.fromarray(
        np.tile(np.linspace(60, 200, 128, dtype=np.uint8), (128, 1))
    ).convert("RGB")
    assert any("vivid" in text for text in suggest_edits(dull))


@pytest.mark.parametrize(
    "prompt",
    [
        *[effect.name for effect in EFFECTS],
        "make it black and white",
        "B&W, a bit brighter and add a vignette",
        "don't blur it, but sharpen",
        "remove the person on the left",
        "lower the contrast a little and make it warmer",
        "add a hat to the cat",
    ],
)
def test_improve_prompt_keeps_every_effect_and_adds_specifics(prompt: str) -> None:
    improved = improve_prompt(prompt)
    assert effects_in(improved) == effects_in(prompt)
    assert len(improved) > len(prompt) + 40
    assert "unchanged" in improved


@pytest.mark.parametrize("prompt", ["", "   \n "])
def test_improve_prompt_turns_an_empty_prompt_into_a_generic_one(prompt: str) -> None:
    improved = improve_prompt(prompt)
    assert len(improved) > 40
    assert "unchanged" in improved
    assert effects_in(improved)
