"""Generate: describe an image, choose its shape and size, and make up to four at once."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.history_panel import (
    add_result,
    download_button,
    entry_from_result,
    get_history,
    history_panel,
    use_buttons,
)
from components.image_input import thumbnail_png
from components.notices import error_boundary, show_error
from components.progress import run_with_progress, still_running
from components.shell import ensure_app_shell
from components.state import remember, remembered
from components.studio import studio
from services import gemini
from services.history import HistoryEntry

ensure_app_shell(__file__)

PAGE = "generate"
PROMPT_KEY = "generate_prompt"
PENDING_KEY = "generate_prompt_pending"
LATEST_KEY = "generate_latest"

EXAMPLES = (
    "A fox in a snowy forest at sunset",
    "A city skyline at night over a calm harbour",
    "Tulips in a spring meadow, pastel colours",
)
# Rough seconds per image at each size, so the progress bar moves at a believable pace.
EXPECTED_SECONDS = {"1K": 12.0, "2K": 18.0, "4K": 30.0}

current = studio()
settings = current.settings
secret = settings.api_key

st.title("Generate")
st.caption(
    "Describe an image, choose its shape and size, and make up to four at once. "
    "Every result lands in the history and can go on to Edit, Style Mimic or Video."
)
if current.is_offline:
    st.caption(
        ":material/science: Offline, this paints a procedural poster from words it knows (sunset, "
        "night, space, ocean, mountains, forest, desert, city, snow, flowers, cat, fox, "
        "birds, and colour names). It is not AI; with Gemini the prompt is drawn as "
        "written."
    )

# A button that fills the prompt sets it here, before the text area is drawn.
# Restored first, so an improved prompt that arrived meanwhile still wins below.
for key, default in (
    (PROMPT_KEY, ""),
    ("generate_ratio", "1:1"),
    ("generate_size", "1K"),
    ("generate_count", 1),
):
    remembered(key, default)

if (pending := st.session_state.pop(PENDING_KEY, None)) is not None:
    st.session_state[PROMPT_KEY] = pending


def use_example(text: str) -> None:
    st.session_state[PROMPT_KEY] = text


def result_card(card: dict[str, Any], number: int, total: int) -> None:
    """One generated image with its size, ratio check and actions, or its error."""
    with st.container(border=True):
        if (error := card.get("error")) is not None:
            st.markdown(f"**Image {number} of {total} failed**")
            show_error(error, secret)
            return
        entry = get_history().get(card["entry_id"])
        if entry is None:
            st.caption(f"Image {number} was dropped from the history to save memory.")
            return
        st.image(thumbnail_png(entry.data, 1024), width="stretch")
        shape = gemini.ratio_name(entry.width, entry.height)
        st.caption(f"Image {number} · {entry.width}×{entry.height} px · {shape}")
        if mismatch := card.get("mismatch"):
            st.warning(
                f"**Aspect ratio not honoured: {mismatch}.** The model ignored the "
                "requested shape. Try again, or crop the image on Edit.",
                icon=":material/aspect_ratio:",
            )
        download_button(entry, key=f"generate_download_{entry.entry_id}")
        use_buttons(entry, f"generate_{entry.entry_id}", settings.max_image_pixels)


controls, results = st.columns([5, 6], gap="large")

with controls:
    st.text_area(
        "Describe the image",
        key=PROMPT_KEY,
        placeholder="e.g. a lighthouse on a rocky coast at dusk, flat poster style",
        height=130,
    )
    prompt = st.session_state.get(PROMPT_KEY, "")
    if not prompt.strip():
        st.caption("Or try one of these:")
        for index, example in enumerate(EXAMPLES):
            st.button(
                example,
                key=f"generate_example_{index}",
                on_click=use_example,
                args=(example,),
                type="tertiary",
                icon=":material/lightbulb:",
            )
    improve_clicked = st.button(
        "Improve prompt",
        disabled=not prompt.strip(),
        icon=":material/edit_note:",
        help="Let the text model add setting, composition, light and palette",
    )
    if improve_clicked:
        with error_boundary(secret):
            run_with_progress(
                "Improving the prompt…",
                lambda: gemini.improve_generation_prompt(
                    current.client, settings, prompt
                ),
                expected_s=5,
                keep=lambda better: st.session_state.update({PENDING_KEY: better}),
            )
            st.rerun()

    ratio = st.segmented_control(
        "Aspect ratio",
        gemini.ASPECT_RATIOS,
        required=True,
        key="generate_ratio",
        width="stretch",
        wrap=True,
        help="Sent to the model in its image settings; the result's shape is checked.",
    )
    settings_row = st.columns([3, 4])
    with settings_row[0]:
        size = st.segmented_control(
            "Size",
            gemini.IMAGE_SIZES,
            required=True,
            key="generate_size",
            width="stretch",
            help="About 1,000, 2,000 or 4,000 pixels on the long side.",
        )
    with settings_row[1]:
        count = st.segmented_control(
            "Number of images",
            list(range(1, gemini.MAX_IMAGES_PER_RUN + 1)),
            required=True,
            key="generate_count",
            width="stretch",
            help="Made at the same time; one failing does not stop the others.",
        )
    for key in (PROMPT_KEY, "generate_ratio", "generate_size", "generate_count"):
        remember(key)
    ratio = ratio or "1:1"
    size = size or "1K"
    count = count or 1

    noun = "image" if count == 1 else "images"
    busy = still_running("Generate")
    if busy:
        st.info("⏳ The last images are still being made; they appear here.")
    run_clicked = st.button(
        f"Generate {count} {noun}",
        type="primary",
        disabled=not prompt.strip() or busy,
        width="stretch",
        icon=":material/auto_awesome:",
    )
    if not prompt.strip():
        st.caption("Describe the image to start.")

    if run_clicked:

        def keep_generated(outcomes: list[gemini.GenerateOutcome]) -> None:
            cards: list[dict[str, Any]] = []
            made: list[HistoryEntry] = []
            for outcome in outcomes:
                if outcome.answer is None:
                    cards.append({"error": outcome.error})
                    continue
                for image in outcome.answer.images:
                    entry = entry_from_result(
                        image,
                        PAGE,
                        prompt,
                        outcome.answer.model,
                        note=f"{ratio} · {size}",
                    )
                    made.append(entry)
                    cards.append(
                        {
                            "entry_id": entry.entry_id,
                            "mismatch": gemini.ratio_mismatch(
                                ratio, image.width, image.height
                            ),
                        }
                    )
            # Added last to first, so the history lists them in the order shown here.
            for entry in reversed(made):
                add_result(entry)
            st.session_state[LATEST_KEY] = {
                "cards": cards,
                "prompt": prompt,
                "ratio": ratio,
                "size": size,
                "seconds": max(
                    (o.answer.seconds for o in outcomes if o.answer), default=0.0
                ),
            }

        with error_boundary(secret):
            run_with_progress(
                f"Generating {count} {noun} with {settings.image_model}…",
                lambda: gemini.generate_many(
                    current.client, settings, prompt, ratio, size, count
                ),
                expected_s=EXPECTED_SECONDS[size],
                keep=keep_generated,
                name="Generate",
            )

with results:
    latest = st.session_state.get(LATEST_KEY)
    if not latest:
        with st.container(
            border=True,
            height=420,
            horizontal_alignment="center",
            vertical_alignment="center",
        ):
            st.markdown("### :material/photo_library:")
            st.caption("Your images appear here.")
    else:
        cards = latest["cards"]
        failed = sum(1 for card in cards if "error" in card)
        st.subheader("Results")
        summary = (
            f"{len(cards) - failed} of {len(cards)} made · {latest['ratio']} · "
            f"{latest['size']} · {latest['seconds']:.1f} s"
        )
        st.caption(f"{summary}  \n“{latest['prompt'][:200]}”")
        columns = st.columns(2 if len(cards) > 1 else 1)
        for index, card in enumerate(cards):
            with columns[index % len(columns)]:
                result_card(card, index + 1, len(cards))

st.divider()
history_panel(settings.max_image_pixels)
