"""Batch: one photo with several prompts, or several photos with one prompt, at once."""

from __future__ import annotations

import time

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components.history_panel import (
    add_result,
    download_button,
    entry_from_result,
    history_panel,
    use_buttons,
)
from components.image_input import image_picker, thumbnail_png, tray_strip
from components.mask_canvas import mask_painter
from components.notices import error_boundary, show_error
from components.preset_picker import preset_picker
from components.progress import forget, is_tracked, track
from components.shell import ensure_app_shell
from components.state import remember, remembered
from components.studio import studio
from services import batch, gemini
from services.errors import AtelierError
from services.history import HistoryEntry

ensure_app_shell(__file__)

PAGE = "batch"
PROMPTS_KEY = "batch_prompts"
CONCURRENCY_KEY = "batch_concurrency"
MASK_TOGGLE_KEY = "batch_use_mask"
JOB_KEY = "batch_job"
ENTRIES_KEY = "batch_entries"
RETRY_KEY = "batch_retry_requested"
COLUMNS = 4

current = studio()
settings = current.settings
secret = settings.api_key
# A model call reports no progress, so each bar follows time against a typical call.
EXPECTED_S = 3.0 if current.is_offline else 20.0


def add_preset_line(prompt: str) -> None:
    existing = st.session_state.get(PROMPTS_KEY, "").rstrip()
    line = " ".join(prompt.split())
    st.session_state[PROMPTS_KEY] = f"{existing}\n{line}" if existing else line


def request_retry() -> None:
    st.session_state[RETRY_KEY] = True


def clear_results() -> None:
    st.session_state.pop(JOB_KEY, None)
    st.session_state.pop(ENTRIES_KEY, None)


for key, default in (
    (PROMPTS_KEY, ""),
    (CONCURRENCY_KEY, min(max(settings.batch_concurrency, 1), batch.MAX_IMAGES)),
    (MASK_TOGGLE_KEY, False),
):
    remembered(key, default)

st.title("Batch")
st.caption(
    "One photo with several prompts, or several photos with one prompt: "
    "every edit runs side by side and each succeeds or fails on its own."
)

left, right = st.columns([2, 1], gap="large")

with left:
    photos = image_picker(
        PAGE, batch.MAX_IMAGES, settings.max_image_pixels, label="Photos"
    )
    tray_strip(PAGE)
    mask_png = None
    if photos:
        main = photos[0]
        use_mask = st.toggle(
            f"Paint a mask on {main.name}",
            key=MASK_TOGGLE_KEY,
            help="The mask goes with every photo of the same size; others are edited "
            "whole.",
        )
        if use_mask:
            with error_boundary(secret):
                mask_png = mask_painter(
                    main.image_id, main.data, (main.width, main.height)
                )

with right:
    st.text_area(
        "Prompts, one per line",
        key=PROMPTS_KEY,
        placeholder="make it black and white\nsepia\npixelate",
        height=150,
        help="With several photos, keep one prompt: it is applied to each photo.",
    )
    preset_picker(PAGE, add_preset_line)
    st.slider(
        "Run at most this many at once",
        1,
        batch.MAX_IMAGES,
        key=CONCURRENCY_KEY,
        help="More at once finishes sooner but may meet the model's rate limit.",
    )
    for key in (PROMPTS_KEY, CONCURRENCY_KEY, MASK_TOGGLE_KEY):
        remember(key)

    prompts = batch.prompt_lines(st.session_state.get(PROMPTS_KEY, ""))
    sources = [
        batch.BatchSource(
            gemini.InputImage(photo.data, photo.name), photo.width, photo.height
        )
        for photo in photos
    ]
    plan: batch.BatchPlan | None = None
    try:
        plan = batch.plan_batch(sources, prompts, mask_png)
    except AtelierError as error:
        if photos and prompts:
            st.warning(error.user_message, icon="✋")
        else:
            st.caption(error.user_message)

    if plan is not None:
        shape = (
            f"1 photo × {len(prompts)} prompts"
            if len(sources) == 1
            else f"{len(sources)} photos × 1 prompt"
        )
        masked = sum(item.mask_png is not None for item in plan.items)
        workers = batch.workers_for(
            settings, len(plan.items), st.session_state[CONCURRENCY_KEY]
        )
        st.caption(
            f"{len(plan.items)} edits ({shape})"
            + (f", {masked} with the mask" if masked else "")
            + f", up to {workers} at a time."
        )
        if plan.unmasked:
            st.info(
                f"The mask fits photos of {photos[0].width}×{photos[0].height} only; "
                "these are edited whole: "
                + ", ".join(f"“{name}”" for name in plan.unmasked),
                icon="ℹ️",
            )
    run_clicked = st.button(
        f"Run {len(plan.items)} edits" if plan else "Run batch",
        type="primary",
        disabled=plan is None,
        width="stretch",
    )


# --- results ------------------------------------------------------------------------


def entries() -> dict[str, HistoryEntry]:
    return st.session_state.setdefault(ENTRIES_KEY, {})


def record(job: batch.BatchJob, outcome: batch.BatchOutcome) -> batch.BatchJob:
    """Keep an outcome in the session and put its image in the shared history."""
    job = job.with_outcome(outcome)
    st.session_state[JOB_KEY] = job
    if outcome.ok and outcome.answer is not None:
        answer = outcome.answer
        entry = entry_from_result(
            answer.images[0], PAGE, outcome.item.prompt, answer.model, note=answer.text
        )
        add_result(entry)
        entries()[outcome.item.item_id] = entry
    else:
        entries().pop(outcome.item.item_id, None)
    return job


def tracking_key(item: batch.BatchItem) -> str:
    return f"batch_item_{item.item_id}"


def record_later(outcome: batch.BatchOutcome) -> None:
    """Keep an outcome that arrived after the page run that started it had stopped."""
    job: batch.BatchJob | None = st.session_state.get(JOB_KEY)
    if job is not None and outcome.item in job.items:
        record(job, outcome)
    elif outcome.ok and outcome.answer is not None:
        # The batch was cleared or replaced meanwhile: the image still joins history.
        answer = outcome.answer
        add_result(
            entry_from_result(
                answer.images[0],
                PAGE,
                outcome.item.prompt,
                answer.model,
                note=answer.text,
            )
        )


def describe(item: batch.BatchItem, number: int) -> str:
    masked = " · masked" if item.mask_png is not None else ""
    return f"**{number}.** “{item.prompt}” · {item.image.name}{masked}"


def done_line(outcome: batch.BatchOutcome) -> str:
    assert outcome.answer is not None
    result = outcome.answer.images[0]
    return f"✅ **Done** · {result.width}×{result.height} · {outcome.seconds:.1f} s"


def failure_line(outcome: batch.BatchOutcome) -> str:
    if outcome.error is None:
        return "**No image**: the model answered without an image."
    title = outcome.error.code.value.replace("_", " ").title()
    return f"**{title}**: {outcome.error.user_message}"


def progress_fraction(elapsed: float) -> float:
    return 0.95 * (1 - 2 ** (-elapsed / max(EXPECTED_S / 2, 0.5)))


def show_card(number: int, item: batch.BatchItem, job: batch.BatchJob) -> None:
    """A finished (or not yet run) item, with its download and "use in" buttons."""
    outcome = job.outcomes.get(item.item_id)
    entry = entries().get(item.item_id)
    with st.container(border=True):
        if outcome is not None and outcome.ok and entry is not None:
            st.image(thumbnail_png(entry.data, 480))
            st.markdown(done_line(outcome))
            st.caption(describe(item, number))
            download_button(entry, key=f"batch_dl_{item.item_id}")
            use_buttons(entry, f"batch_{item.item_id}", settings.max_image_pixels)
        elif outcome is not None:
            st.caption(describe(item, number))
            if outcome.error is not None:
                show_error(outcome.error, secret)
            else:
                st.error(failure_line(outcome), icon="⚠️")
        elif is_tracked(tracking_key(item)):
            st.image(thumbnail_png(item.image.data, 480))
            st.markdown("⏳ **Still running** · the result will appear here")
            st.caption(describe(item, number))
        else:
            st.image(thumbnail_png(item.image.data, 480))
            st.markdown("⏸️ **Not run** · the batch was stopped before this item")
            st.caption(describe(item, number))


def run_live(job: batch.BatchJob, to_run: list[batch.BatchItem]) -> None:
    """Run items while every card shows whether it waits, runs, or how it ended."""
    concurrency = int(st.session_state[CONCURRENCY_KEY])
    overall = st.progress(0.0, text="Starting…")
    image_slots: dict[str, DeltaGenerator] = {}
    status_slots: dict[str, DeltaGenerator] = {}
    columns = st.columns(COLUMNS)
    running_ids = {item.item_id for item in to_run}
    for index, item in enumerate(job.items):
        with columns[index % COLUMNS], st.container(border=True):
            image_slots[item.item_id] = st.empty()
            status_slots[item.item_id] = st.empty()
            st.caption(describe(item, index + 1))
        outcome = job.outcomes.get(item.item_id)
        if item.item_id not in running_ids and outcome is not None and outcome.ok:
            image_slots[item.item_id].image(
                thumbnail_png(entries()[item.item_id].data, 480)
            )
            status_slots[item.item_id].markdown(done_line(outcome))
        else:
            image_slots[item.item_id].image(thumbnail_png(item.image.data, 480))
            status_slots[item.item_id].markdown("⏳ Waiting for a free slot")

    finished: set[str] = set()
    failed = 0
    run = batch.BatchRun(current.client, settings, to_run, concurrency)
    # If the user leaves mid-batch, Streamlit stops this run: every item goes on and
    # its outcome is kept by whichever run of the studio comes next.
    run.leave_running()
    by_id = {item.item_id: item for item in to_run}
    for item_id, future in run.futures.items():
        track(tracking_key(by_id[item_id]), "Batch item", future, record_later)
    while not run.done:
        for outcome in run.wait(timeout=0.25):
            forget(tracking_key(outcome.item))
            job = record(job, outcome)
            item_id = outcome.item.item_id
            finished.add(item_id)
            if outcome.ok:
                image_slots[item_id].image(thumbnail_png(entries()[item_id].data, 480))
                status_slots[item_id].markdown(done_line(outcome))
            else:
                failed += 1
                image_slots[item_id].empty()
                status_slots[item_id].error(failure_line(outcome), icon="⚠️")
        now = time.monotonic()
        for item in to_run:
            began = run.started(item.item_id)
            if began is None or item.item_id in finished:
                continue
            elapsed = now - began
            status_slots[item.item_id].progress(
                progress_fraction(elapsed), text=f"Running… {elapsed:.0f} s"
            )
        overall.progress(
            len(finished) / len(to_run),
            text=f"{len(finished)} of {len(to_run)} finished"
            + (f", {failed} failed" if failed else "")
            + f" · up to {run.workers} at a time",
        )
    st.rerun()


job: batch.BatchJob | None = st.session_state.get(JOB_KEY)
to_run: list[batch.BatchItem] = []
if run_clicked and plan is not None:
    job = batch.BatchJob(plan.items, unmasked=plan.unmasked)
    st.session_state[JOB_KEY] = job
    st.session_state[ENTRIES_KEY] = {}
    to_run = list(job.items)
elif st.session_state.pop(RETRY_KEY, False) and job is not None:
    to_run = [item for item in job.failed if not is_tracked(tracking_key(item))]

if job is not None:
    st.divider()
    head = st.columns([3, 2, 2, 1], vertical_alignment="center")
    head[0].subheader("Results")
    if to_run:
        head[0].caption(f"Running {len(to_run)} of {len(job.items)} edits…")
        run_live(job, to_run)
    else:
        succeeded = job.succeeded
        failed_items = job.failed
        head[0].caption(
            f"{len(succeeded)} of {len(job.items)} done"
            + (f" · {len(failed_items)} failed or not run" if failed_items else "")
        )
        model_label = (
            succeeded[0].answer.model
            if succeeded and succeeded[0].answer is not None
            else settings.image_model
        )
        finished_job = job
        head[1].download_button(
            "Download ZIP",
            data=lambda: batch.job_zip(finished_job, model_label),
            file_name=f"atelier-batch-{time.strftime('%Y%m%d-%H%M%S')}.zip",
            mime="application/zip",
            key="batch_zip",
            on_click="ignore",
            disabled=not job.finished,
            help=f"{len(succeeded)} images and manifest.json (prompt, model, size and "
            "outcome of every item)",
            icon=":material/folder_zip:",
            type="primary",
            width="stretch",
        )
        head[2].button(
            f"Retry failed ({len(failed_items)})",
            on_click=request_retry,
            disabled=not failed_items,
            width="stretch",
            key="batch_retry",
        )
        head[3].button(
            "Clear", on_click=clear_results, key="batch_clear", width="stretch"
        )
        if job.unmasked:
            st.caption(
                "Edited whole (the mask did not fit): "
                + ", ".join(f"“{name}”" for name in job.unmasked)
            )
        columns = st.columns(COLUMNS)
        for index, item in enumerate(job.items):
            with columns[index % COLUMNS]:
                show_card(index + 1, item, job)

st.divider()
history_panel(settings.max_image_pixels)
