"""The mask painter: a drawing canvas over the image, giving a mask in image pixels."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import streamlit as st
from PIL import Image
from streamlit_drawable_canvas import st_canvas

from components.state import remember, remembered
from services import images

# Wide enough to paint with care, narrow enough for the left column on a 1280 px
# laptop screen with the sidebar open (the mask is scaled to the photo's own pixels).
CANVAS_MAX_WIDTH = 512
CANVAS_MAX_HEIGHT = 560
BRUSH_COLOUR = "rgba(255, 64, 96, 0.55)"


def canvas_size(image_size: tuple[int, int]) -> tuple[int, int]:
    """The canvas size that shows the whole image as large as the page allows."""
    width, height = image_size
    scale = min(CANVAS_MAX_WIDTH / width, CANVAS_MAX_HEIGHT / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


@st.cache_data(max_entries=16, show_spinner=False)
def _background_png(image_png: bytes, size: tuple[int, int]) -> bytes:
    picture = images.load_image(image_png, "image")
    return images.image_to_png(
        picture.resize(size, Image.Resampling.LANCZOS).convert("RGB")
    )


def canvas_key(image_id: str) -> str:
    generation = st.session_state.get(f"mask_generation_{image_id}", 0)
    return f"mask_canvas_{image_id}_{generation}"


def clear_mask(image_id: str) -> None:
    st.session_state[f"mask_generation_{image_id}"] = (
        st.session_state.get(f"mask_generation_{image_id}", 0) + 1
    )
    st.session_state.pop(f"mask_drawing_{image_id}", None)
    st.session_state.pop(f"mask_png_{image_id}", None)


def _fit_from(result_fit: dict[str, float] | None) -> images.CanvasFit | None:
    if not result_fit:
        return None
    return images.CanvasFit(
        natural_width=float(result_fit["natural_width"]),
        natural_height=float(result_fit["natural_height"]),
        scale_x=float(result_fit["scale_x"]),
        scale_y=float(result_fit["scale_y"]),
        offset_x=float(result_fit.get("offset_x", 0.0)),
        offset_y=float(result_fit.get("offset_y", 0.0)),
    )


def _mask_png(
    drawing: np.ndarray, image_size: tuple[int, int], fit: images.CanvasFit | None
) -> bytes | None:
    mask = images.mask_from_canvas(drawing, image_size, fit)
    return images.image_to_png(mask) if mask is not None else None


def mask_painter(
    image_id: str, image_png: bytes, image_size: tuple[int, int]
) -> bytes | None:
    """Show the painter for one image and return its mask as PNG bytes, or None.

    The mask is in the image's own pixels (the canvas scale and any offset undone)
    and is remembered per image, so reruns and page switches keep it.
    """
    tools = st.columns([3, 3, 2], vertical_alignment="bottom")
    remembered(f"brush_{image_id}")
    remembered(f"tool_{image_id}")
    brush = tools[0].slider("Brush size", 4, 120, 36, key=f"brush_{image_id}")
    tool = tools[1].segmented_control(
        "Tool", ["Brush", "Box"], default="Brush", key=f"tool_{image_id}"
    )
    tools[2].button(
        "Clear mask",
        key=f"clear_{image_id}",
        on_click=clear_mask,
        args=(image_id,),
        help="Remove everything painted on this image",
        width="stretch",
    )

    remember(f"brush_{image_id}")
    remember(f"tool_{image_id}")
    # The canvas's own toolbar (undo, redo, delete) floats just above the drawing;
    # this gap keeps it off the controls.
    st.space(28)
    width, height = canvas_size(image_size)
    key = canvas_key(image_id)
    initial_key = f"mask_initial_{image_id}"
    if key not in st.session_state:
        # The canvas is (re)mounting, after a page switch say: redraw the last mask.
        # Passed unchanged afterwards, since a new value would reset the canvas's undo.
        st.session_state[initial_key] = st.session_state.get(f"mask_drawing_{image_id}")
    result = st_canvas(
        fill_color=BRUSH_COLOUR,
        stroke_width=brush,
        stroke_color=BRUSH_COLOUR,
        background_image=_background_png(image_png, (width, height)),
        background_image_fit="contain",
        width=width,
        height=height,
        drawing_mode="rect" if tool == "Box" else "freedraw",
        initial_drawing=st.session_state.get(initial_key),
        return_image_data=True,
        key=key,
    )
    st.caption(
        "Paint over the area to change; the toolbar has undo and redo. "
        "Leave it empty to edit the whole image."
    )
    return _remember_mask(image_id, result, image_size)


def _remember_mask(
    image_id: str, result: Any, image_size: tuple[int, int]
) -> bytes | None:
    png_key = f"mask_png_{image_id}"
    raw = result.json_data
    if raw and raw.get("objects") is not None:
        st.session_state[f"mask_drawing_{image_id}"] = {
            "objects": raw.get("objects", [])
        }
    drawing_bytes = result.image_bytes
    if drawing_bytes is None:
        return st.session_state.get(png_key)

    digest = hashlib.sha256(drawing_bytes).hexdigest()
    cached = st.session_state.get(f"{png_key}_source")
    if cached == digest:
        return st.session_state.get(png_key)
    drawing = result.image_data
    mask = _mask_png(drawing, image_size, _fit_from(result.background_fit))
    st.session_state[png_key] = mask
    st.session_state[f"{png_key}_source"] = digest
    return mask
