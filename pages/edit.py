"""Edit: upload photos, paint a mask, describe the change, get the edited photo."""

from __future__ import annotations

import streamlit as st

from components.history_panel import add_result, entry_from_result, history_panel
from components.image_input import image_picker, tray_strip
from components.mask_canvas import mask_painter
from components.notices import error_boundary
from components.preset_picker import preset_picker
from components.progress import run_with_progress, still_running
from components.shell import ensure_app_shell
from components.studio import studio
from components.versions import record_versions, version_of, version_panel
from services import gemini

ensure_app_shell(__file__)

PAGE = "edit"
PROMPT_KEY = "edit_prompt"

current = studio()
settings = current.settings
secret = settings.api_key

st.title("Edit")
st.caption("Upload a photo, paint over what should change, describe the change.")

# A button that fills the prompt sets it here, before the text area is drawn.
if (pending := st.session_state.pop("edit_prompt_pending", None)) is not None:
    st.session_state[PROMPT_KEY] = pending


def use_suggestion(text: str) -> None:
    st.session_state[PROMPT_KEY] = text


left, right = st.columns([2, 1], gap="large")

with left:
    inputs = image_picker(PAGE, settings.max_uploads, settings.max_image_pixels)
    tray_strip(PAGE)
    mask_png = None
    if inputs:
        main = inputs[0]
        st.markdown(f"**{main.name}** · {main.width}×{main.height}")
        with error_boundary(secret):
            mask_png = mask_painter(main.image_id, main.data, (main.width, main.height))

with right:
    st.text_area(
        "Describe the change",
        key=PROMPT_KEY,
        placeholder="e.g. make it black and white, remove the painted object…",
        height=110,
        persist_state="session",
        # Typing reruns nothing: a rerun on blur would race a click on another page
        # in the sidebar, and Streamlit then drops the click and the text. The text
        # travels with the next click on this page instead.
        on_change="ignore",
    )
    preset_picker("edit", use_suggestion)
    prompt = st.session_state.get(PROMPT_KEY, "")
    helpers = st.columns(2)
    suggest_clicked = helpers[0].button(
        "Suggest edits",
        disabled=not inputs,
        width="stretch",
        help="Ideas for this photo",
    )
    # Enabled even while the box looks empty: typing reruns nothing (see the prompt),
    # so the button's state could not follow it; a click brings the text along.
    improve_clicked = helpers[1].button("Improve prompt", width="stretch")
    if improve_clicked and not prompt.strip():
        st.warning("Write a prompt first, then ask for a better one.", icon="✍️")
        improve_clicked = False

    if suggest_clicked and inputs:
        suggestions_key = f"suggestions_{inputs[0].image_id}"
        with error_boundary(secret):
            run_with_progress(
                "Looking at the photo…",
                lambda: gemini.suggest_edits(current.client, settings, inputs[0].data),
                expected_s=5,
                keep=lambda ideas: st.session_state.update({suggestions_key: ideas}),
            )
    if improve_clicked:
        with error_boundary(secret):
            image = inputs[0].data if inputs else None
            run_with_progress(
                "Improving the prompt…",
                lambda: gemini.improve_prompt(current.client, settings, prompt, image),
                expected_s=5,
                keep=lambda better: st.session_state.update(
                    {"edit_prompt_pending": better}
                ),
            )
            st.rerun()

    if inputs and (ideas := st.session_state.get(f"suggestions_{inputs[0].image_id}")):
        st.caption("Suggested edits (click to use):")
        for index, idea in enumerate(ideas):
            st.button(
                idea,
                key=f"idea_{index}",
                on_click=use_suggestion,
                args=(idea,),
                type="tertiary",
            )

    scope = "the painted area" if mask_png else "the whole image"
    busy = still_running("Edit")
    run_clicked = st.button(
        f"Run edit on {scope}",
        type="primary",
        disabled=not inputs or busy,
        width="stretch",
    )
    if busy:
        st.info("⏳ The last edit is still running; its result appears here.")
    if not inputs:
        st.caption("Add a photo to start.")
    if run_clicked and not prompt.strip():
        st.warning("Describe the change first, or pick a preset or a suggestion.")
        run_clicked = False

    if run_clicked and inputs:
        request_inputs = [gemini.InputImage(item.data, item.name) for item in inputs]
        source = inputs[0].data
        parent = version_of(source)

        def keep_edit(answer: gemini.ModelAnswer) -> None:
            entries = [
                entry_from_result(
                    result, PAGE, prompt, answer.model, parent, answer.text
                )
                for result in answer.images
            ]
            for entry in reversed(entries):
                add_result(entry)
            record_versions(entries, source)

        with error_boundary(secret):
            answer = run_with_progress(
                f"Editing with {settings.image_model}…",
                lambda: gemini.edit(
                    current.client, settings, prompt, request_inputs, mask_png
                ),
                keep=keep_edit,
                name="Edit",
            )
            st.caption(f"Finished in {answer.seconds:.1f} s.")

version_panel(PAGE, settings.max_uploads, settings.max_image_pixels)

st.divider()
history_panel(settings.max_image_pixels)
