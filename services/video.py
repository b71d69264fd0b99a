"""Video generation as long-running jobs: start, poll, cancel, and a job store on disk.

With an API key a video is a background interaction of the Interactions API; in
Enterprise (Vertex AI) mode it is a Veo long-running operation. Both hide behind one
pair: ``start_video`` returns an id at once, ``video_status`` reads where the job is
without waiting. The finished video is downloaded here, on the server, so neither the
key nor a keyed URL ever reaches the browser. ``VideoJobStore`` keeps each job as a
JSON file (and its MP4 once done), so jobs outlive reruns, refreshes and restarts.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import json
import logging
import os
import re
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from google import genai
from google.genai import interactions, types

from services import images
from services.config import Settings
from services.errors import AtelierError, ErrorCode, invalid_input
from services.gemini import call_model

logger = logging.getLogger(__name__)

VIDEO_ASPECT_RATIOS = ("16:9", "9:16")
VIDEO_DURATIONS = (4, 6, 8)
VIDEO_RESOLUTIONS = ("720p", "1080p")
PROMPT_LIMIT = 2000

VideoState = Literal["running", "done", "filtered", "failed", "cancelled"]
FINISHED_STATES = frozenset({"done", "filtered", "failed", "cancelled"})
# A poll should answer quickly or not at all: the next poll is the retry.
STATUS_TIMEOUT_S = 20.0

FILTERED_MESSAGE = (
    "The video was withheld by a content filter. Attempts stopped by the filter are "
    "not charged. Change the prompt or the start image and try again."
)
NO_VIDEO_MESSAGE = (
    "The model finished without returning a video. Try again, or change the prompt."
)
CANCELLED_MESSAGE = "The video was cancelled."

# Interaction statuses that mean the job is still on its way.
_RUNNING_STATUSES = {
    "queued": "Waiting to start.",
    "in_progress": "Rendering.",
    "idle": "Waiting to start.",
    "requires_continuation": "Rendering.",
}
_ENDED_WITHOUT_VIDEO = {
    "incomplete": "The video stopped before it was finished.",
    "budget_exceeded": "The video stopped because the budget for it ran out.",
    "requires_action": "The video needs an action Atelier cannot take.",
}


@dataclass(frozen=True)
class VideoRequest:
    """What to make: a prompt, an optional start image, and the output settings.

    ``start_mime`` is kept for the caller's records; the image's format is read from
    its bytes. None for duration or resolution leaves the model's default.
    """

    prompt: str
    start_image: bytes | None = field(default=None, repr=False)
    start_mime: str | None = None
    aspect_ratio: str = "16:9"
    duration_s: int | None = None
    resolution: str | None = None
    negative_prompt: str | None = None


@dataclass(frozen=True)
class VideoOptions:
    """The settings the configured video API accepts, so a page offers only those."""

    aspect_ratios: tuple[str, ...]
    durations: tuple[int, ...]
    resolutions: tuple[str, ...]
    negative_prompt: bool
    can_cancel: bool


@dataclass(frozen=True)
class VideoStatus:
    """Where a job is now; ``video`` holds the MP4 bytes once it is done."""

    state: VideoState
    progress: float | None = None
    message: str = ""
    filter_reasons: list[str] = field(default_factory=list)
    video: bytes | None = field(default=None, repr=False)
    mime: str | None = None

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_STATES


def video_options(settings: Settings) -> VideoOptions:
    """What the current mode accepts: Veo on Vertex takes a negative prompt but can't
    be cancelled through the SDK; the Interactions API is the other way round."""
    return VideoOptions(
        aspect_ratios=VIDEO_ASPECT_RATIOS,
        durations=VIDEO_DURATIONS,
        resolutions=VIDEO_RESOLUTIONS,
        negative_prompt=settings.enterprise,
        can_cancel=not settings.enterprise,
    )


def is_operation_name(job_id: str) -> bool:
    """Whether ``job_id`` names a Veo operation rather than an interaction."""
    return "/operations/" in job_id


# --- starting -------------------------------------------------------------------------


def _check_request(request: VideoRequest) -> None:
    if not request.prompt.strip() and request.start_image is None:
        raise invalid_input("Describe the video, or give it a start image.")
    if len(request.prompt) > PROMPT_LIMIT:
        raise invalid_input(
            f"The prompt is {len(request.prompt)} characters long; the limit is "
            f"{PROMPT_LIMIT}. Shorten it and try again."
        )
    if request.aspect_ratio not in VIDEO_ASPECT_RATIOS:
        raise invalid_input(
            f"Videos can be {' or '.join(VIDEO_ASPECT_RATIOS)}, not "
            f"{request.aspect_ratio}. Pick one of those."
        )
    if request.duration_s is not None and request.duration_s not in VIDEO_DURATIONS:
        raise invalid_input(
            "A video can last "
            + ", ".join(str(seconds) for seconds in VIDEO_DURATIONS)
            + " seconds. Pick one of those."
        )
    if request.resolution is not None and request.resolution not in VIDEO_RESOLUTIONS:
        raise invalid_input(
            f"The resolution can be {' or '.join(VIDEO_RESOLUTIONS)}. "
            "Pick one of those."
        )


def _start_image(settings: Settings, request: VideoRequest) -> tuple[bytes, str] | None:
    """The start image checked, upright and scaled for the request, or None."""
    if request.start_image is None:
        return None
    image = images.load_image(
        request.start_image, "The start image", settings.max_image_pixels
    )
    return images.encode_for_model(image, settings.send_max_side)


def _start_interaction(
    client: genai.Client,
    settings: Settings,
    request: VideoRequest,
    image: tuple[bytes, str] | None,
) -> str:
    video_format: interactions.VideoResponseFormatParam = {
        "type": "video",
        "aspect_ratio": "9:16" if request.aspect_ratio == "9:16" else "16:9",
        # A URI keeps every poll small; the bytes are fetched once, when done.
        "delivery": "uri",
    }
    if request.duration_s is not None:
        video_format["duration"] = f"{request.duration_s}s"
    if request.resolution is not None:
        video_format["resolution"] = (
            "1080p" if request.resolution == "1080p" else "720p"
        )

    content: builtins.list[interactions.ContentParam] = []
    if request.prompt.strip():
        content.append({"type": "text", "text": request.prompt.strip()})
    if image is not None:
        data, mime = image
        image_block: interactions.ImageContentParam = {
            "type": "image",
            "data": base64.b64encode(data).decode("ascii"),
            "mime_type": "image/png" if mime == "image/png" else "image/jpeg",
        }
        content.append(image_block)
    task: Literal["text_to_video", "image_to_video"] = (
        "image_to_video" if image is not None else "text_to_video"
    )

    # The Interactions API has no negative prompt, so it is not sent in this mode.
    answer = call_model(
        settings,
        "video_start",
        settings.video_model,
        lambda: client.interactions.create(
            model=settings.video_model,
            background=True,
            input=content,
            response_format=video_format,
            generation_config={"video_config": {"task": task}},
        ),
    )
    if not isinstance(answer, interactions.Interaction) or not answer.id:
        raise AtelierError(
            ErrorCode.GENERATION_FAILED, detail="video_start: no interaction id"
        )
    return answer.id


def _start_operation(
    client: genai.Client,
    settings: Settings,
    request: VideoRequest,
    image: tuple[bytes, str] | None,
) -> str:
    source = types.GenerateVideosSource(
        prompt=request.prompt.strip() or None,
        image=types.Image(image_bytes=image[0], mime_type=image[1]) if image else None,
    )
    config = types.GenerateVideosConfig(
        number_of_videos=1,
        aspect_ratio=request.aspect_ratio,
        duration_seconds=request.duration_s,
        resolution=request.resolution,
        negative_prompt=(request.negative_prompt or "").strip() or None,
    )
    operation = call_model(
        settings,
        "video_start",
        settings.video_model,
        lambda: client.models.generate_videos(
            model=settings.video_model, source=source, config=config
        ),
    )
    if not operation.name:
        raise AtelierError(
            ErrorCode.GENERATION_FAILED, detail="video_start: operation without name"
        )
    return operation.name


def start_video(client: genai.Client, settings: Settings, request: VideoRequest) -> str:
    """Start a video and return its job id at once, without waiting for the render.

    The id is an interaction id with an API key, or a Veo operation name in
    Enterprise mode; ``video_status`` takes either. Settings the mode's API does not
    accept are left out (see ``video_options``).

    Raises AtelierError: INVALID_INPUT for an unusable prompt, image or setting, or
    the code of whatever the API answered.
    """
    _check_request(request)
    image = _start_image(settings, request)
    if settings.enterprise:
        return _start_operation(client, settings, request, image)
    return _start_interaction(client, settings, request, image)


# --- reading status -------------------------------------------------------------------


def _progress(value: Any, scale: float = 1.0) -> float | None:
    try:
        progress = float(value) / scale
    except (TypeError, ValueError):
        return None
    return min(max(progress, 0.0), 1.0)


def _decode_base64(data: str) -> bytes:
    padded = data + "=" * (-len(data) % 4)
    try:
        return base64.b64decode(padded.replace("-", "+").replace("_", "/"))
    except (binascii.Error, ValueError) as exc:
        raise AtelierError(
            ErrorCode.GENERATION_FAILED, detail="video_status: video data not base64"
        ) from exc


def _download(client: genai.Client, settings: Settings, uri: str) -> bytes:
    return call_model(
        settings,
        "video_download",
        settings.video_model,
        lambda: client.files.download(file=uri),
    )


def _failure_message(reason: str) -> str:
    reason = reason.strip() or "no reason was given"
    if not reason.endswith((".", "!", "?")):
        reason += "."
    return f"The video could not be made: {reason} Try again, or change the prompt."


def _filter_reasons(extra: dict[str, Any]) -> builtins.list[str]:
    reasons = extra.get("rai_media_filtered_reasons") or []
    if isinstance(reasons, str):
        reasons = [reasons]
    return [str(reason) for reason in reasons if str(reason).strip()]


def _interaction_status(
    client: genai.Client, settings: Settings, job_id: str
) -> VideoStatus:
    polling = replace(settings, retry_attempts=1)
    interaction = call_model(
        polling,
        "video_status",
        settings.video_model,
        lambda: client.interactions.get(job_id, timeout=STATUS_TIMEOUT_S),
    )
    # The engine (and perhaps the API) adds fields the SDK has no name for.
    extra = dict(getattr(interaction, "model_extra", None) or {})
    status = str(interaction.status)
    progress = _progress(extra.get("progress"))

    if status in _RUNNING_STATUSES:
        return VideoStatus("running", progress, _RUNNING_STATUSES[status])
    if status == "cancelled":
        return VideoStatus("cancelled", progress, CANCELLED_MESSAGE)

    video = interaction.output_video
    if status == "completed" and video is not None and (video.data or video.uri):
        data = (
            _decode_base64(video.data)
            if video.data
            else _download(client, settings, str(video.uri))
        )
        return VideoStatus(
            "done",
            1.0,
            "Your video is ready.",
            [],
            data,
            video.mime_type or "video/mp4",
        )

    reasons = _filter_reasons(extra)
    if reasons or int(extra.get("rai_media_filtered_count") or 0) > 0:
        return VideoStatus("filtered", progress, FILTERED_MESSAGE, reasons)
    if status == "failed":
        problems = [
            error.message for error in interaction.errors or [] if error.message
        ]
        return VideoStatus("failed", progress, _failure_message(" ".join(problems)))
    return VideoStatus(
        "failed", progress, _ENDED_WITHOUT_VIDEO.get(status, NO_VIDEO_MESSAGE)
    )


def _operation_status(
    client: genai.Client, settings: Settings, job_id: str
) -> VideoStatus:
    polling = replace(settings, retry_attempts=1)
    operation = call_model(
        polling,
        "video_status",
        settings.video_model,
        lambda: client.operations.get(
            types.GenerateVideosOperation.model_validate({"name": job_id})
        ),
    )
    metadata = operation.metadata or {}
    progress = _progress(metadata.get("progressPercent"), scale=100.0)

    if not operation.done:
        return VideoStatus("running", progress, "Rendering.")
    if operation.error:
        # google.rpc.Code 1 is CANCELLED.
        if operation.error.get("code") == 1:
            return VideoStatus("cancelled", progress, CANCELLED_MESSAGE)
        message = str(operation.error.get("message") or "")
        return VideoStatus("failed", progress, _failure_message(message))

    result = operation.result
    videos = (result.generated_videos if result else None) or []
    for generated in videos:
        if generated.video is not None and generated.video.video_bytes:
            return VideoStatus(
                "done",
                1.0,
                "Your video is ready.",
                [],
                generated.video.video_bytes,
                generated.video.mime_type or "video/mp4",
            )
    if result is not None and (
        result.rai_media_filtered_count or result.rai_media_filtered_reasons
    ):
        reasons = [str(reason) for reason in result.rai_media_filtered_reasons or []]
        return VideoStatus("filtered", 1.0, FILTERED_MESSAGE, reasons)
    if any(generated.video and generated.video.uri for generated in videos):
        # Veo wrote the video to Cloud Storage, which this SDK can't read back.
        return VideoStatus(
            "failed",
            1.0,
            "The video was saved to Cloud Storage instead of being returned. Remove "
            "the output bucket setting and try again.",
        )
    return VideoStatus("failed", 1.0, NO_VIDEO_MESSAGE)


def video_status(client: genai.Client, settings: Settings, job_id: str) -> VideoStatus:
    """Read where a job is, without waiting for it and without retries.

    A running job comes back with its progress (None when the API doesn't say); a
    done job with its MP4 bytes, downloaded here with the client's credentials.

    Raises AtelierError when the API can't be asked or refuses (the next poll may
    well succeed when the code is retryable or TIMEOUT).
    """
    if is_operation_name(job_id):
        return _operation_status(client, settings, job_id)
    return _interaction_status(client, settings, job_id)


def cancel_video(client: genai.Client, settings: Settings, job_id: str) -> None:
    """Ask the API to stop a running job.

    Raises AtelierError: INVALID_INPUT for a Veo operation (the SDK has no cancel
    for those), or the code of whatever the API answered.
    """
    if is_operation_name(job_id):
        raise invalid_input(
            "Veo jobs on Vertex AI can't be cancelled from Atelier. Let it finish, "
            "or remove it from the list."
        )
    call_model(
        settings,
        "video_cancel",
        settings.video_model,
        lambda: client.interactions.cancel(job_id),
    )


def delete_video(client: genai.Client, settings: Settings, job_id: str) -> None:
    """Delete a job's record on the API side, where there is one (interactions).

    Raises AtelierError with the code of whatever the API answered.
    """
    if is_operation_name(job_id):
        return
    call_model(
        settings,
        "video_delete",
        settings.video_model,
        lambda: client.interactions.delete(job_id),
    )


# --- the job store --------------------------------------------------------------------


@dataclass(frozen=True)
class VideoJob:
    """One video job as the studio remembers it between runs of the app."""

    id: str
    operation_id: str
    prompt: str
    engine: str
    model: str
    aspect_ratio: str
    duration_s: int | None = None
    resolution: str | None = None
    negative_prompt: str | None = None
    start_image_path: str | None = None
    state: VideoState = "running"
    progress: float | None = None
    message: str = ""
    error_message: str = ""
    error_detail: str = ""
    filter_reasons: tuple[str, ...] = ()
    created_at: float = 0.0
    finished_at: float | None = None
    video_path: str | None = None

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_STATES

    def elapsed_s(self, now: float | None = None) -> float:
        end = self.finished_at or (time.time() if now is None else now)
        return max(0.0, end - self.created_at)


_JOB_ID = re.compile(r"[a-z0-9]{8,64}")


def _job_from_json(data: dict[str, Any]) -> VideoJob:
    data = dict(data)
    data["filter_reasons"] = tuple(data.get("filter_reasons") or ())
    return VideoJob(**data)


class VideoJobStore:
    """Video jobs as JSON files in one directory, with each job's MP4 beside it.

    Writes are atomic (a temporary file renamed into place), so a reader never sees
    half a record, even with several sessions polling the same job.
    """

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def _path(self, job_id: str, suffix: str) -> Path:
        if not _JOB_ID.fullmatch(job_id):
            raise ValueError(f"not a video job id: {job_id!r}")
        return self.directory / f"{job_id}{suffix}"

    def _write_atomic(self, target: Path, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def list(self) -> builtins.list[VideoJob]:
        """Every stored job, newest first; unreadable records are skipped."""
        if not self.directory.is_dir():
            return []
        jobs = []
        for path in self.directory.glob("*.json"):
            if not _JOB_ID.fullmatch(path.stem):
                continue
            job = self.get(path.stem)
            if job is not None:
                jobs.append(job)
        return sorted(jobs, key=lambda job: job.created_at, reverse=True)

    def get(self, job_id: str) -> VideoJob | None:
        path = self._path(job_id, ".json")
        try:
            text = path.read_text(encoding="utf-8")
            return _job_from_json(json.loads(text))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            logger.warning("skipping unreadable video job %s: %s", job_id, exc)
            return None

    def save(self, job: VideoJob) -> None:
        record = asdict(job)
        record["filter_reasons"] = list(job.filter_reasons)
        payload = json.dumps(record, indent=2, ensure_ascii=False).encode("utf-8")
        self._write_atomic(self._path(job.id, ".json"), payload)

    def remove(self, job_id: str) -> None:
        """Forget a job and delete its files (a missing job is not an error)."""
        for suffix in (".json", ".mp4", ".start"):
            self._path(job_id, suffix).unlink(missing_ok=True)

    def save_video(self, job_id: str, data: bytes) -> Path:
        target = self._path(job_id, ".mp4")
        self._write_atomic(target, data)
        return target

    def save_start_image(self, job_id: str, data: bytes) -> Path:
        target = self._path(job_id, ".start")
        self._write_atomic(target, data)
        return target

    def read_video(self, job: VideoJob) -> bytes | None:
        return _read_optional(job.video_path)

    def read_start_image(self, job: VideoJob) -> bytes | None:
        return _read_optional(job.start_image_path)


def _read_optional(path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        return None


def job_store(settings: Settings) -> VideoJobStore:
    """The store in the configured data directory."""
    return VideoJobStore(Path(settings.data_dir) / "video_jobs")


# --- jobs: the store and the API together ---------------------------------------------


def start_job(
    client: genai.Client,
    settings: Settings,
    store: VideoJobStore,
    request: VideoRequest,
) -> VideoJob:
    """Start a video and store its job (with the start image, for a retry).

    Raises AtelierError as ``start_video`` does; nothing is stored then.
    """
    operation_id = start_video(client, settings, request)
    job_id = uuid.uuid4().hex
    start_path = None
    if request.start_image is not None:
        start_path = str(store.save_start_image(job_id, request.start_image))
    job = VideoJob(
        id=job_id,
        operation_id=operation_id,
        prompt=request.prompt,
        engine=settings.engine,
        model=settings.video_model,
        aspect_ratio=request.aspect_ratio,
        duration_s=request.duration_s,
        resolution=request.resolution,
        # Kept only where it was sent, so a retry asks for the same thing.
        negative_prompt=request.negative_prompt if settings.enterprise else None,
        start_image_path=start_path,
        message="Starting.",
        created_at=time.time(),
    )
    store.save(job)
    return job


def refresh_job(
    client: genai.Client,
    settings: Settings,
    store: VideoJobStore,
    job: VideoJob,
) -> VideoJob:
    """Poll a running job once, store what changed, and return the stored job.

    A finished job, or one started on another engine than the client's, is returned
    unchanged without a call. A transient failure (rate limit, unavailable, timeout)
    is raised and the job stays running; any other failure ends the job as failed.
    """
    if job.is_finished or job.engine != settings.engine:
        return job
    try:
        status = video_status(client, settings, job.operation_id)
    except AtelierError as error:
        if error.is_retryable or error.code is ErrorCode.TIMEOUT:
            raise
        failed = replace(
            job,
            state="failed",
            message=error.user_message,
            error_message=error.user_message,
            error_detail=error.detail,
            finished_at=time.time(),
        )
        store.save(failed)
        return failed

    updated = replace(
        job,
        state=status.state,
        progress=status.progress,
        message=status.message,
        filter_reasons=tuple(status.filter_reasons),
    )
    if status.state == "failed":
        updated = replace(updated, error_message=status.message)
    if status.state == "done" and status.video is not None:
        updated = replace(
            updated, video_path=str(store.save_video(job.id, status.video))
        )
    if status.is_finished:
        updated = replace(updated, finished_at=time.time())
    if updated != job:
        store.save(updated)
    return updated


def cancel_job(
    client: genai.Client,
    settings: Settings,
    store: VideoJobStore,
    job: VideoJob,
) -> VideoJob:
    """Ask the API to cancel a running job, then store what the job became.

    A job that finished just before the cancel arrived keeps its result. Raises
    AtelierError as ``cancel_video`` does; the job is left as it was then.
    """
    if job.is_finished:
        return job
    cancel_video(client, settings, job.operation_id)
    try:
        return refresh_job(client, settings, store, job)
    except AtelierError:
        # The cancel was sent; a later poll will see it take effect.
        cancelling = replace(job, message="Cancelling.")
        store.save(cancelling)
        return cancelling


def remove_job(
    client: genai.Client,
    settings: Settings,
    store: VideoJobStore,
    job: VideoJob,
) -> None:
    """Forget a job here, and delete it on the API side where that is possible.

    Removing never fails because of the API: a job the service no longer knows, or
    one started on another engine, is still removed from the store.
    """
    if job.engine == settings.engine:
        try:
            delete_video(client, settings, job.operation_id)
        except AtelierError as error:
            logger.warning(
                "video job %s removed here, not on the API side: %s",
                job.id,
                error.code.value,
            )
    store.remove(job.id)


def retry_request(store: VideoJobStore, job: VideoJob) -> VideoRequest:
    """The request that started ``job``, to start it again."""
    start_image = store.read_start_image(job)
    return VideoRequest(
        prompt=job.prompt,
        start_image=start_image,
        start_mime=images.sniff_mime(start_image) if start_image else None,
        aspect_ratio=job.aspect_ratio,
        duration_s=job.duration_s,
        resolution=job.resolution,
        negative_prompt=job.negative_prompt,
    )
