"""Video: start short videos as background jobs and keep working while they render."""

from __future__ import annotations

import time

import streamlit as st

from components.history_panel import add_result, get_history
from components.image_input import image_picker, thumbnail_png
from components.notices import error_boundary, show_error
from components.shell import ensure_app_shell
from components.state import remember, remembered
from components.studio import studio
from services import prompts, video
from services.errors import AtelierError, ErrorCode
from services.history import HistoryEntry

ensure_app_shell(__file__)

PAGE = "video"
POLL_SECONDS = 2.0
FRAME_SIZES = {("16:9", "720p"): (1280, 720), ("9:16", "720p"): (720, 1280)}

current = studio()
settings = current.settings
secret = settings.api_key
store = video.job_store(settings)
options = video.video_options(settings)

st.title("Video")
st.caption(
    "Start a short video from a prompt and, if you like, a start image. It renders in "
    "the background: switch pages or reload, and the job is still here."
    + (
        " The offline engine makes a pan-and-zoom clip, not an AI video."
        if current.is_offline
        else ""
    )
)


def frame_size(job: video.VideoJob) -> tuple[int, int]:
    resolution = job.resolution or "720p"
    width, height = FRAME_SIZES.get((job.aspect_ratio, "720p"), (1280, 720))
    factor = 1.5 if resolution == "1080p" else 1.0
    return round(width * factor), round(height * factor)


def remember_in_history(job: video.VideoJob, data: bytes) -> None:
    """Add a finished video to this session's history once."""
    added: set[str] = st.session_state.setdefault("video_jobs_in_history", set())
    if job.id in added:
        return
    width, height = frame_size(job)
    add_result(
        HistoryEntry(
            data=data,
            mime_type="video/mp4",
            width=width,
            height=height,
            page=PAGE,
            prompt=job.prompt,
            model=job.model,
            note=job.id,
        )
    )
    added.add(job.id)


VIDEO_FIELDS = {
    "video_prompt": "",
    "video_ratio": options.aspect_ratios[0],
    "video_duration": options.durations[0],
    "video_resolution": options.resolutions[0],
    "video_negative": "",
}
for key, default in VIDEO_FIELDS.items():
    remembered(key, default)
# A value kept from another engine's options would not be offered now.
for key, offered in (
    ("video_ratio", options.aspect_ratios),
    ("video_duration", options.durations),
    ("video_resolution", options.resolutions),
):
    if st.session_state.get(key) not in offered:
        st.session_state[key] = VIDEO_FIELDS[key]

form, preview = st.columns([3, 2], gap="large")
with form:
    prompt = st.text_area(
        "Describe the video",
        key="video_prompt",
        placeholder="e.g. a slow push in on the rocket as it lifts off, golden light",
        height=100,
    )
    settings_row = st.columns(3)
    aspect_ratio = settings_row[0].segmented_control(
        "Aspect ratio",
        options.aspect_ratios,
        required=True,
        key="video_ratio",
        width="stretch",
    )
    duration = settings_row[1].selectbox(
        "Duration (s)", options.durations, key="video_duration"
    )
    resolution = settings_row[2].selectbox(
        "Resolution", options.resolutions, key="video_resolution"
    )
    negative = ""
    if options.negative_prompt:
        negative = st.text_input("Avoid (negative prompt)", key="video_negative")
    for key in VIDEO_FIELDS:
        remember(key)

with preview:
    start_items = image_picker(
        PAGE, 1, settings.max_image_pixels, label="Start image (optional)"
    )
    if start_items:
        item = start_items[0]
        st.image(
            thumbnail_png(item.data, 480),
            caption=f"Start image · {item.width}×{item.height}",
        )
        if st.button("Don't use a start image", key="video_clear_start"):
            st.session_state[f"tray_{PAGE}"] = []
            st.rerun()

with form:
    if st.button(
        "Start video", type="primary", disabled=not prompt.strip(), width="stretch"
    ):
        request = video.VideoRequest(
            prompt=prompt,
            start_image=start_items[0].data if start_items else None,
            aspect_ratio=aspect_ratio or options.aspect_ratios[0],
            duration_s=int(duration),
            resolution=resolution,
            negative_prompt=negative or None,
        )
        with error_boundary(secret):
            video.start_job(current.client, settings, store, request)
            st.toast("Video started: it renders in the background.", icon="🎬")


def job_header(job: video.VideoJob) -> None:
    st.markdown(f"**{prompts.excerpt(job.prompt, 90)}**")
    st.caption(
        f"{job.aspect_ratio} · {job.duration_s or '?'} s · {job.resolution or 'default'} · "
        f"{job.model} · started {time.strftime('%H:%M:%S', time.localtime(job.created_at))}"
    )


@st.fragment(run_every=POLL_SECONDS)
def rendering_jobs() -> None:
    """Poll running jobs every few seconds without rerunning the whole page."""
    jobs = [job for job in store.list() if not job.is_finished]
    st.subheader(f"Rendering ({len(jobs)})")
    if not jobs:
        st.caption("No video is rendering.")
        return
    finished = False
    for job in jobs:
        problem: AtelierError | None = None
        try:
            job = video.refresh_job(current.client, settings, store, job)
        except AtelierError as error:
            problem = error
        if job.is_finished:
            finished = True
            continue
        with st.container(border=True):
            job_header(job)
            elapsed = job.elapsed_s()
            if job.progress is not None:
                st.progress(
                    min(job.progress, 1.0), text=f"{job.progress:.0%} · {elapsed:.0f} s"
                )
            else:
                st.progress(0.0, text=f"Rendering · {elapsed:.0f} s elapsed")
            if problem is not None:
                st.caption(
                    f"Status check failed ({problem.user_message}); trying again."
                )
            buttons = st.columns(2)
            if options.can_cancel and buttons[0].button(
                "Cancel", key=f"cancel_{job.id}"
            ):
                with error_boundary(secret):
                    video.cancel_job(current.client, settings, store, job)
                    st.rerun()
            if buttons[1].button("Remove", key=f"remove_running_{job.id}"):
                video.remove_job(current.client, settings, store, job)
                st.rerun()
    if finished:
        # A job just ended: redraw the whole page so it moves to the finished list.
        st.rerun(scope="app")


rendering_jobs()

finished_jobs = [job for job in store.list() if job.is_finished]
st.subheader(f"Finished ({len(finished_jobs)})")
if not finished_jobs:
    st.caption("Finished videos appear here, with a player and an MP4 download.")
grid = st.columns(2)
for index, job in enumerate(finished_jobs):
    with grid[index % 2], st.container(border=True):
        job_header(job)
        if job.state == "done":
            data = store.read_video(job)
            if data is None:
                st.warning("The video file is missing from the data folder.")
            else:
                remember_in_history(job, data)
                st.video(data, format="video/mp4")
                st.download_button(
                    "Download .mp4",
                    data=data,
                    file_name=f"atelier-video-{job.id[:12]}.mp4",
                    mime="video/mp4",
                    key=f"download_{job.id}",
                    on_click="ignore",
                )
        elif job.state == "filtered":
            reasons = (
                "; ".join(r.rstrip(". ") for r in job.filter_reasons)
                or "no reason given"
            )
            st.warning(
                f"The video was withheld by a content filter: {reasons}. Attempts that a "
                "filter stops are not charged. Rephrase the prompt or pick another image.",
                icon="🛡️",
            )
        elif job.state == "cancelled":
            st.info("Cancelled.")
        else:
            show_error(
                AtelierError(
                    ErrorCode.GENERATION_FAILED,
                    job.error_message or job.message or "The video could not be made.",
                    job.error_detail or "",
                ),
                secret,
            )
        buttons = iter(st.columns(4))
        if job.state != "done" and next(buttons).button(
            "Retry", key=f"retry_{job.id}", help="Start it again; this card goes"
        ):
            with error_boundary(secret):
                video.start_job(
                    current.client, settings, store, video.retry_request(store, job)
                )
                # The new job carries everything this one had, so this card goes.
                video.remove_job(current.client, settings, store, job)
                st.rerun()
        if next(buttons).button("Remove", key=f"remove_{job.id}"):
            video.remove_job(current.client, settings, store, job)
            st.rerun()

count = len(get_history().entries)
st.caption(f"{count} result{'' if count == 1 else 's'} in this session's history.")
