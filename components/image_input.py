"""Image inputs for a page: uploads, sample photos and earlier results, kept as bytes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from services import images
from services.errors import AtelierError

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "samples"
SAMPLE_TITLES = {
    "astronaut.png": "Astronaut",
    "chelsea.png": "Cat",
    "coffee.png": "Coffee",
    "rocket.jpg": "Rocket",
}


@dataclass(frozen=True)
class TrayImage:
    """One input image: its bytes as given, a name for messages, and its upright size."""

    image_id: str
    name: str
    data: bytes
    width: int
    height: int


@st.cache_data(max_entries=64, show_spinner=False)
def upright_size(data: bytes, name: str, max_pixels: int) -> tuple[int, int]:
    picture = images.load_image(data, name, max_pixels)
    return picture.size


@st.cache_data(max_entries=128, show_spinner=False)
def thumbnail_png(data: bytes, side: int = 320) -> bytes:
    picture = images.load_image(data, "image")
    return images.image_to_png(images.fit_within(picture, side))


def sample_paths() -> list[Path]:
    return sorted(path for path in SAMPLES_DIR.iterdir() if path.name in SAMPLE_TITLES)


def tray(page: str) -> list[TrayImage]:
    return list(st.session_state.get(f"tray_{page}", []))


def set_tray(page: str, items: list[TrayImage]) -> None:
    if len(items) < len(tray(page)):
        # Once an image leaves, the "no room for these" notice no longer holds.
        st.session_state.pop(f"upload_skipped_{page}", None)
    st.session_state[f"tray_{page}"] = items


def make_tray_image(data: bytes, name: str, max_pixels: int) -> TrayImage:
    """Check the bytes and describe them; raises AtelierError naming the file."""
    width, height = upright_size(data, name, max_pixels)
    image_id = hashlib.sha256(data).hexdigest()[:16]
    return TrayImage(image_id, name, data, width, height)


def add_to_tray(page: str, item: TrayImage, limit: int, first: bool = False) -> bool:
    """Add an image unless it is already there; False when the tray is full.

    With ``first`` the image becomes the main one, and on a full tray it takes the
    place of the last image (the user is told which).
    """
    items = [existing for existing in tray(page) if existing.image_id != item.image_id]
    if len(items) >= limit:
        if not first:
            return False
        evicted = items.pop()
        st.toast(f"“{evicted.name}” left the tray to make room.", icon="↪️")
    if first:
        items.insert(0, item)
    else:
        items.append(item)
    set_tray(page, items)
    return True


def _intake_uploads(page: str, limit: int, max_pixels: int) -> None:
    uploads = st.session_state.get(f"uploader_{page}") or []
    seen: set[str] = st.session_state.setdefault(f"uploads_seen_{page}", set())
    # upload file id -> the tray image it became, so the uploader's own remove (×)
    # takes the image out of the tray too.
    added: dict[str, str] = st.session_state.setdefault(f"uploads_added_{page}", {})
    current_ids = {upload.file_id for upload in uploads}
    for file_id in [file_id for file_id in added if file_id not in current_ids]:
        image_id = added.pop(file_id)
        set_tray(page, [item for item in tray(page) if item.image_id != image_id])
    problems: list[str] = []
    skipped: list[str] = []
    repeated: list[str] = []
    for upload in uploads:
        if upload.file_id in seen:
            continue
        seen.add(upload.file_id)
        try:
            item = make_tray_image(upload.getvalue(), upload.name, max_pixels)
        except AtelierError as error:
            problems.append(error.user_message)
            continue
        present = {existing.image_id: existing.name for existing in tray(page)}
        if item.image_id in present:
            repeated.append(f"“{upload.name}” (same as “{present[item.image_id]}”)")
        elif not add_to_tray(page, item, limit):
            skipped.append(upload.name)
        else:
            added[upload.file_id] = item.image_id
    if repeated:
        problems.append(
            "Already in the tray, so not added again: " + ", ".join(repeated) + "."
        )
    st.session_state[f"upload_problems_{page}"] = problems
    st.session_state[f"upload_skipped_{page}"] = skipped


def image_picker(
    page: str, limit: int, max_pixels: int, label: str = "Photos"
) -> list[TrayImage]:
    """Upload, sample and tray controls; returns the current images, main one first."""
    # Only files the uploader still shows can be removed through it: after a page
    # switch it starts empty, and its earlier files must then stay in the tray.
    showing = {
        upload.file_id for upload in st.session_state.get(f"uploader_{page}") or []
    }
    added = st.session_state.setdefault(f"uploads_added_{page}", {})
    for file_id in [file_id for file_id in added if file_id not in showing]:
        del added[file_id]
    st.file_uploader(
        f"{label}: PNG, JPEG, WebP"
        + (", HEIC" if images.HEIF_SUPPORTED else "")
        + (" (one image)" if limit == 1 else f" (up to {limit})"),
        accept_multiple_files=True,
        key=f"uploader_{page}",
        on_change=_intake_uploads,
        args=(page, limit, max_pixels),
    )
    for problem in st.session_state.get(f"upload_problems_{page}", []):
        st.warning(problem, icon="🚫")
    if skipped := st.session_state.get(f"upload_skipped_{page}"):
        room = "one image" if limit == 1 else f"{limit} images"
        st.warning(
            f"Only {room} fit here, so these were not added: "
            + ", ".join(f"“{name}”" for name in skipped)
            + ". Remove an image, then upload them again.",
            icon="🚫",
        )

    st.caption("Or start from a sample photo:")
    columns = st.columns(len(SAMPLE_TITLES))
    for column, path in zip(columns, sample_paths(), strict=False):
        if column.button(
            SAMPLE_TITLES[path.name], key=f"sample_{page}_{path.name}", width="stretch"
        ):
            item = make_tray_image(path.read_bytes(), path.name, max_pixels)
            add_to_tray(page, item, limit, first=True)
    return tray(page)


def tray_strip(page: str) -> None:
    """Thumbnails of the tray with "main" and "remove" buttons."""
    items = tray(page)
    if not items:
        return
    columns = st.columns(max(len(items), 4))
    for index, (column, item) in enumerate(zip(columns, items, strict=False)):
        with column:
            st.image(
                thumbnail_png(item.data, 200),
                caption=f"{item.name} · {item.width}×{item.height}",
            )
            if index == 0:
                st.caption("Main image · the one to edit")
            elif st.button(
                "Make main", key=f"main_{page}_{item.image_id}", width="stretch"
            ):
                set_tray(page, [item] + [other for other in items if other is not item])
                st.rerun()
            if st.button(
                "Remove", key=f"remove_{page}_{item.image_id}", width="stretch"
            ):
                set_tray(page, [other for other in items if other is not item])
                st.rerun()
