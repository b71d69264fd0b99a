"""Style Mimic: describe the look of one image, then repaint another in that look."""

from __future__ import annotations

import streamlit as st

from components.history_panel import (
    add_result,
    download_button,
    entry_from_result,
    get_history,
    history_panel,
    use_buttons,
)
from components.image_input import (
    SAMPLE_TITLES,
    TrayImage,
    make_tray_image,
    sample_paths,
    set_tray,
    thumbnail_png,
    tray,
)
from components.notices import error_boundary
from components.progress import run_with_progress, still_running
from components.shell import ensure_app_shell
from components.state import remember, remembered
from components.studio import studio
from services import gemini, images
from services.errors import AtelierError

ensure_app_shell(__file__)

PAGE = "style_mimic"
# The content slot is this page's tray, so "Use in… Style Mimic" fills it.
CONTENT_SLOT = PAGE
STYLE_SLOT = "style_mimic_style"
DESCRIPTION_KEY = "style_mimic_description"
PENDING_KEY = "style_mimic_description_pending"
DESCRIBED_FOR_KEY = "style_mimic_described_for"
NOTE_KEY = "style_mimic_note"
LATEST_KEY = "style_mimic_latest"
UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp"] + (
    ["heic", "heif"] if images.HEIF_SUPPORTED else []
)

current = studio()
settings = current.settings
secret = settings.api_key

st.title("Style Mimic")
st.caption(
    "Pick a content image and a style image. Atelier first describes the style in "
    "words, which you can edit, then repaints the content in that style."
)
if current.is_offline:
    st.caption(
        ":material/science: Offline, style mimic is classical image processing, not "
        "AI: it transfers the style image's colour statistics (mean and spread in the "
        "CIELAB colour space) and some of its texture (grain, softness or flat poster "
        "areas). It does not repaint shapes or brushwork; Gemini does."
    )

# Restored first, so a style description that arrived meanwhile still wins below.
for key in (NOTE_KEY, DESCRIPTION_KEY):
    remembered(key, "")

if (pending := st.session_state.pop(PENDING_KEY, None)) is not None:
    st.session_state[DESCRIPTION_KEY] = pending


def source_entry_id(item: TrayImage) -> str | None:
    """The history entry an input image is, so a result made from it keeps its lineage."""
    return next(
        (entry.entry_id for entry in get_history().entries if entry.data == item.data),
        None,
    )


def take_upload(slot: str) -> None:
    upload = st.session_state.get(f"uploader_{slot}")
    st.session_state.pop(f"upload_problem_{slot}", None)
    if upload is None:
        return
    try:
        item = make_tray_image(
            upload.getvalue(), upload.name, settings.max_image_pixels
        )
        set_tray(slot, [item])
    except AtelierError as error:
        st.session_state[f"upload_problem_{slot}"] = error.user_message


def image_slot(slot: str, title: str, hint: str) -> TrayImage | None:
    """One image chosen from an upload, a sample photo or an earlier result."""
    items = tray(slot)
    chosen = items[0] if items else None
    with st.container(border=True):
        header = st.columns([3, 1], vertical_alignment="center")
        header[0].markdown(f"**{title}**")
        if chosen is not None and header[1].button(
            "Clear", key=f"clear_{slot}", type="tertiary", width="stretch"
        ):
            set_tray(slot, [])
            st.rerun()
        if chosen is not None:
            st.image(thumbnail_png(chosen.data, 320))
            st.caption(f"{chosen.name} · {chosen.width}×{chosen.height} px")
        else:
            with st.container(
                height=200, horizontal_alignment="center", vertical_alignment="center"
            ):
                st.caption(hint)

        upload_tab, sample_tab, history_tab = st.tabs(
            ["Upload", "Sample photo", "Earlier result"]
        )
        with upload_tab:
            st.file_uploader(
                f"{title}: PNG, JPEG or WebP"
                + (" (or HEIC)" if images.HEIF_SUPPORTED else ""),
                type=UPLOAD_TYPES,
                key=f"uploader_{slot}",
                on_change=take_upload,
                args=(slot,),
                label_visibility="collapsed",
            )
            if problem := st.session_state.get(f"upload_problem_{slot}"):
                st.warning(problem, icon=":material/block:")
        with sample_tab:
            columns = st.columns(2)
            for index, path in enumerate(sample_paths()):
                if columns[index % 2].button(
                    SAMPLE_TITLES[path.name],
                    key=f"sample_{slot}_{path.name}",
                    width="stretch",
                ):
                    item = make_tray_image(
                        path.read_bytes(), path.name, settings.max_image_pixels
                    )
                    set_tray(slot, [item])
                    st.rerun()
        with history_tab:
            earlier_result_picker(slot)
    return chosen


def earlier_result_picker(slot: str) -> None:
    earlier = [entry for entry in get_history().entries if not entry.is_video]
    if not earlier:
        st.caption("Results from any page appear here.")
        return
    if len(earlier) > 8:
        st.caption(f"The 8 newest of {len(earlier)} results:")
        earlier = earlier[:8]
    columns = st.columns(4)
    for index, entry in enumerate(earlier):
        with columns[index % 4]:
            st.image(thumbnail_png(entry.data, 160), width="stretch")
            if st.button(
                "Use", key=f"earlier_{slot}_{entry.entry_id}", width="stretch"
            ):
                name = f"{entry.page} result {entry.entry_id}"
                item = make_tray_image(entry.data, name, settings.max_image_pixels)
                set_tray(slot, [item])
                st.rerun()


inputs = st.columns(2, gap="large")
with inputs[0]:
    content = image_slot(
        CONTENT_SLOT, "Content image", "The picture to repaint: its subject stays."
    )
with inputs[1]:
    style = image_slot(
        STYLE_SLOT, "Style image", "The picture whose look to copy: palette, texture."
    )

st.text_input(
    "Note (optional)",
    key=NOTE_KEY,
    placeholder="e.g. keep the faces, only the colours, subtle",
)
note = st.session_state.get(NOTE_KEY, "")

steps = st.columns(2, gap="large")
with steps[0]:
    st.markdown("**1 · Describe the style**")
    describe_clicked = st.button(
        "Describe the style",
        key="style_mimic_describe",
        disabled=style is None,
        width="stretch",
        icon=":material/search:",
        help="The text model looks at the style image and puts its look into words.",
    )
    if describe_clicked and style is not None:
        style_id = style.image_id
        with error_boundary(secret):
            run_with_progress(
                "Reading the style…",
                lambda: gemini.describe_style(current.client, settings, style.data),
                expected_s=6,
                keep=lambda words: st.session_state.update(
                    {PENDING_KEY: words, DESCRIBED_FOR_KEY: style_id}
                ),
            )
            st.rerun()
    st.text_area(
        "Style description (edit freely)",
        key=DESCRIPTION_KEY,
        height=130,
        placeholder="Describe the style, or type the look you want.",
    )
    description = st.session_state.get(DESCRIPTION_KEY, "")
    for key in (NOTE_KEY, DESCRIPTION_KEY):
        remember(key)
    described_for = st.session_state.get(DESCRIBED_FOR_KEY)
    if style is not None and described_for and described_for != style.image_id:
        st.caption(
            ":material/warning: This description was written for a different style image. "
            "Describe again, or keep it if it still fits."
        )

with steps[1]:
    st.markdown("**2 · Apply it to the content**")
    missing = [
        label
        for label, present in (
            ("a content image", content is not None),
            ("a style image", style is not None),
            ("a style description", bool(description.strip())),
        )
        if not present
    ]
    busy = still_running("Style mimic")
    if busy:
        st.info("⏳ The style is still being applied; the result appears below.")
    apply_clicked = st.button(
        "Apply the style",
        key="style_mimic_apply",
        type="primary",
        disabled=bool(missing) or busy,
        width="stretch",
        icon=":material/palette:",
    )
    if missing:
        st.caption("Still needed: " + ", ".join(missing) + ".")
    else:
        st.caption(f"Repaints the content with {settings.image_model}.")

    if apply_clicked and content is not None and style is not None:
        content_image, style_image = content, style

        def keep_styled(answer: gemini.ModelAnswer) -> None:
            entry = entry_from_result(
                answer.images[0],
                PAGE,
                description + (f" (note: {note.strip()})" if note.strip() else ""),
                answer.model,
                parent_id=source_entry_id(content_image),
                note=answer.text,
            )
            add_result(entry)
            st.session_state[LATEST_KEY] = {
                "entry_id": entry.entry_id,
                "content": content_image.data,
                "style": style_image.data,
                "seconds": answer.seconds,
            }

        with error_boundary(secret):
            run_with_progress(
                f"Applying the style with {settings.image_model}…",
                lambda: gemini.apply_style(
                    current.client,
                    settings,
                    gemini.InputImage(content_image.data, content_image.name),
                    gemini.InputImage(style_image.data, style_image.name),
                    description,
                    note,
                ),
                keep=keep_styled,
                name="Style mimic",
            )
            # Run again so the pickers above already offer this result.
            st.rerun()

latest = st.session_state.get(LATEST_KEY)
entry = get_history().get(latest["entry_id"]) if latest else None
if latest and entry is not None:
    st.divider()
    st.subheader("Result")
    shown = st.columns([1, 1, 2], gap="medium")
    shown[0].image(thumbnail_png(latest["content"], 800), caption="Content")
    shown[1].image(thumbnail_png(latest["style"], 800), caption="Style")
    with shown[2]:
        st.image(thumbnail_png(entry.data, 1400), caption="Styled result")
        st.caption(
            f"{entry.width}×{entry.height} px · {latest['seconds']:.1f} s · "
            f"{entry.model}" + (f"  \n{entry.note}" if entry.note else "")
        )
        actions = st.columns(2)
        with actions[0]:
            download_button(entry, key="style_mimic_download")
        with actions[1]:
            use_buttons(entry, "style_mimic_latest", settings.max_image_pixels)

st.divider()
history_panel(settings.max_image_pixels)
