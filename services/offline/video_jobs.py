"""Video jobs of the offline engine: background renders of a pan-and-zoom H.264 MP4.

The engine answers the two ways the SDK starts a video, each a job that takes
``plan.video_seconds`` and reports its progress while it runs:

- the Interactions API (with a key): ``POST /v1/interactions`` with ``background``,
  ``GET /v1/interactions/{id}`` to poll, ``POST .../{id}/cancel``, ``DELETE`` to
  remove, and ``GET /v1/files/{id}:download?alt=media`` for a video delivered by URI;
- Veo on Vertex: ``POST .../models/{model}:predictLongRunning`` and
  ``POST .../models/{model}:fetchPredictOperation`` to poll the operation.

Jobs are kept in memory and on disk, so an engine restarted with the app still
finishes the jobs the studio stored. Progress travels in an extra ``progress`` field
of the interaction (and ``metadata.progressPercent`` of the operation); the real
API may send neither.
"""

from __future__ import annotations

import base64
import binascii
import colorsys
import hashlib
import importlib
import json
import logging
import math
import os
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np
from PIL import Image

from services.errors import AtelierError
from services.images import load_image
from services.offline.faults import FaultRule
from services.offline.server import EngineRequest, EngineResponse, error_response

if TYPE_CHECKING:
    from services.offline.server import OfflineEngine

logger = logging.getLogger(__name__)

STATE_KEY = "video_jobs"
FPS = 24
DEFAULT_DURATION_S = 4.0
MAX_DURATION_S = 8.0
ASPECT_RATIOS = ("16:9", "9:16")
FRAME_SIZES = {
    ("16:9", "720p"): (1280, 720),
    ("9:16", "720p"): (720, 1280),
    ("16:9", "1080p"): (1920, 1080),
    ("9:16", "1080p"): (1080, 1920),
}
# The camera ends this much closer than it starts.
ZOOM_END = 1.18
# Two renders at a time keep a small machine responsive while several jobs run.
RENDER_SLOTS = 2
# Files older than this are left over from earlier runs and are removed at start.
KEEP_FILES_S = 7 * 24 * 3600
# The SDK takes the file id from a URI shaped like https://host/v1/files/<id>.
DOWNLOAD_URI = "https://atelier-offline.localhost/v1/files/{id}"

# Fault kinds that make a video job end without a video, as a content filter would.
FILTER_KINDS = frozenset(
    {"video_filtered", "safety", "image_safety", "prohibited", "blocked_prompt"}
)
HTTP_KINDS = frozenset({"400", "401", "403", "404", "429", "500", "503"})

FILTER_REASONS = (
    "The offline engine's content filter switch is on, so this video was withheld "
    "(a test fault, not a judgement of the prompt).",
)
ERROR_MESSAGE = "The offline engine's render failed half way (injected video_error)."
CANCEL_MESSAGE = "The video was cancelled."


@dataclass
class RenderJob:
    """One render as the engine remembers it; written to disk as JSON."""

    id: str
    api: str  # "interactions" or "veo"
    model: str
    prompt: str
    aspect_ratio: str
    resolution: str
    duration_s: float
    delivery: str  # "uri" or "inline" (Veo operations always answer inline)
    created: float
    run_seconds: float
    fault: str = ""
    resource: str = ""
    has_image: bool = False
    cancelled_at: float | None = None
    render_error: str = ""

    @property
    def frame_size(self) -> tuple[int, int]:
        return FRAME_SIZES[(self.aspect_ratio, self.resolution)]

    @property
    def seed(self) -> int:
        digest = hashlib.sha256(f"{self.prompt}\n{self.id}".encode()).digest()
        return int.from_bytes(digest[:4], "big")

    @property
    def needs_render(self) -> bool:
        return not self.fault and self.cancelled_at is None and not self.render_error


@dataclass(frozen=True)
class Phase:
    """Where a job is at one moment: its status, progress 0..1 and any message."""

    status: str  # in_progress, completed, filtered, failed, cancelled
    progress: float
    message: str = ""


def _temporary_beside(target: Path) -> Path:
    """A fresh name next to ``target``, so two writers never share a half file."""
    return target.with_name(f"{target.name}.{uuid.uuid4().hex[:8]}.part")


class JobBoard:
    """The engine's video jobs, in memory and in ``directory`` across restarts."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._jobs: dict[str, RenderJob] = {}
        self._renders: dict[str, threading.Thread] = {}
        self._render_progress: dict[str, float] = {}
        self._slots = threading.BoundedSemaphore(RENDER_SLOTS)
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Abandon running renders, as when the engine's process ends."""
        self._stopping.set()

    # --- files -----------------------------------------------------------------------

    def _path(self, job_id: str, suffix: str) -> Path:
        return self.directory / f"{job_id}{suffix}"

    def video_path(self, job_id: str) -> Path:
        return self._path(job_id, ".mp4")

    def has_video(self, job_id: str) -> bool:
        return self.video_path(job_id).is_file()

    def _write_record(self, job: RenderJob) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self._path(job.id, ".json")
        temporary = _temporary_beside(target)
        temporary.write_text(json.dumps(asdict(job)), encoding="utf-8")
        os.replace(temporary, target)

    def _read_record(self, job_id: str) -> RenderJob | None:
        try:
            data = json.loads(self._path(job_id, ".json").read_text(encoding="utf-8"))
            return RenderJob(**data)
        except (OSError, ValueError, TypeError):
            return None

    def prune(self, max_age_s: float = KEEP_FILES_S) -> None:
        if not self.directory.is_dir():
            return
        cutoff = time.time() - max_age_s
        for path in self.directory.iterdir():
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                continue

    # --- jobs ------------------------------------------------------------------------

    def add(self, job: RenderJob, image: bytes | None) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if image is not None:
            self._path(job.id, ".image").write_bytes(image)
        self._write_record(job)
        with self._lock:
            self._jobs[job.id] = job
        self._ensure_render(job)

    def find(self, job_id: str) -> RenderJob | None:
        if not re.fullmatch(r"[a-z0-9]+", job_id):
            return None
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            # A job from before a restart: remember it and finish its render.
            job = self._read_record(job_id)
            if job is None:
                return None
            with self._lock:
                job = self._jobs.setdefault(job_id, job)
        self._ensure_render(job)
        return job

    def save(self, job: RenderJob) -> None:
        with self._lock:
            self._jobs[job.id] = job
        self._write_record(job)

    def remove(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.pop(job_id, None)
        if job is not None:
            job.cancelled_at = job.cancelled_at or time.time()
        for suffix in (".json", ".image", ".mp4"):
            self._path(job_id, suffix).unlink(missing_ok=True)

    def phase(self, job: RenderJob, now: float) -> Phase:
        fraction = max(0.0, (now - job.created) / max(job.run_seconds, 0.01))
        if job.cancelled_at is not None:
            done = (job.cancelled_at - job.created) / max(job.run_seconds, 0.01)
            return Phase("cancelled", min(max(done, 0.0), 1.0), CANCEL_MESSAGE)
        if job.fault == "video_error" and fraction >= 0.5:
            return Phase("failed", 0.5, ERROR_MESSAGE)
        if job.fault == "video_stuck":
            return Phase("in_progress", min(fraction, 0.95))
        if job.fault in FILTER_KINDS:
            if fraction >= 1.0:
                return Phase("filtered", 1.0, FILTER_REASONS[0])
            return Phase("in_progress", fraction)
        if job.render_error:
            return Phase("failed", min(fraction, 1.0), job.render_error)

        # Both the clock and the encoder have to be done, so progress is the lesser.
        # The file is the proof the render is done: the last frame comes before the
        # encoder's flush and the rename.
        rendered = (
            1.0 if self.has_video(job.id) else min(self._render_fraction(job.id), 0.99)
        )
        if fraction >= 1.0 and rendered >= 1.0:
            return Phase("completed", 1.0)
        return Phase("in_progress", min(fraction, rendered, 0.99))

    def _render_fraction(self, job_id: str) -> float:
        with self._lock:
            return self._render_progress.get(job_id, 0.0)

    # --- rendering -------------------------------------------------------------------

    def _ensure_render(self, job: RenderJob) -> None:
        if not job.needs_render or self.has_video(job.id) or self._stopping.is_set():
            return
        with self._lock:
            running = self._renders.get(job.id)
            if running is not None and running.is_alive():
                return
            thread = threading.Thread(
                target=self._render,
                args=(job,),
                name=f"offline-video-{job.id[:8]}",
                daemon=True,
            )
            self._renders[job.id] = thread
            self._render_progress[job.id] = 0.0
        thread.start()

    def _render(self, job: RenderJob) -> None:
        started = time.monotonic()

        def on_frame(fraction: float) -> bool:
            with self._lock:
                self._render_progress[job.id] = fraction
            return job.cancelled_at is None and not self._stopping.is_set()

        target = self.video_path(job.id)
        partial = _temporary_beside(target)
        try:
            with self._slots:
                still = self._still_for(job)
                finished = write_pan_and_zoom(
                    partial, still, job.frame_size, job.duration_s, job.seed, on_frame
                )
            if not finished:
                return
            os.replace(partial, target)
        # Whatever goes wrong, the job must end as failed, as a real service's would.
        except Exception as exc:
            logger.exception("offline video render failed for job %s", job.id)
            job.render_error = (
                f"The offline engine could not render the video ({type(exc).__name__})."
            )
            self.save(job)
            return
        finally:
            partial.unlink(missing_ok=True)
            with self._lock:
                self._render_progress.pop(job.id, None)
        logger.info(
            "offline video rendered job=%s frames=%dx%d seconds=%.2f",
            job.id,
            *job.frame_size,
            time.monotonic() - started,
        )

    def _still_for(self, job: RenderJob) -> Image.Image:
        image_path = self._path(job.id, ".image")
        if job.has_image and image_path.is_file():
            image = load_image(image_path.read_bytes(), "start image")
            return image.convert("RGB")
        return generated_still(job.prompt, job.frame_size, job.seed)


def board_of(engine: OfflineEngine) -> JobBoard:
    """The engine's job board (tests point ``directory`` somewhere of their own)."""
    board = engine.state[STATE_KEY]
    assert isinstance(board, JobBoard)
    return board


# --- pictures -------------------------------------------------------------------------


def _cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Crop ``image`` to the aspect ratio of ``size`` about its centre, then resize."""
    width, height = image.size
    target = size[0] / size[1]
    if width / height > target:
        new_width = round(height * target)
        left = (width - new_width) // 2
        image = image.crop((left, 0, left + new_width, height))
    else:
        new_height = round(width / target)
        top = (height - new_height) // 2
        image = image.crop((0, top, width, top + new_height))
    return image.resize(size, Image.Resampling.LANCZOS)


def gradient_still(prompt: str, size: tuple[int, int], seed: int) -> Image.Image:
    """A calm two-colour gradient with a few soft glows, chosen by the prompt."""
    rng = np.random.default_rng(seed)
    width, height = size
    hue = rng.random()
    first = np.array(colorsys.hsv_to_rgb(hue, 0.55, 0.35))
    second = np.array(colorsys.hsv_to_rgb((hue + 0.12) % 1.0, 0.45, 0.92))

    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    along = (xs / width * 0.6 + ys / height * 0.4).clip(0.0, 1.0)[..., None]
    pixels = first * (1.0 - along) + second * along

    # Soft glows give the camera something to move across.
    for _ in range(6):
        cx, cy = rng.random() * width, rng.random() * height
        radius = (0.08 + rng.random() * 0.18) * max(width, height)
        glow = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * radius**2))[..., None]
        tint = np.array(colorsys.hsv_to_rgb((hue + rng.random() * 0.2) % 1.0, 0.3, 1.0))
        pixels = pixels * (1.0 - 0.35 * glow) + tint * (0.35 * glow)

    return Image.fromarray((pixels.clip(0.0, 1.0) * 255).astype(np.uint8), "RGB")


def generated_still(prompt: str, size: tuple[int, int], seed: int) -> Image.Image:
    """The still a text-only job pans over: the scene renderer's, or a gradient."""
    try:
        # Looked up when needed: the scene renderer is optional for video.
        effects = importlib.import_module("services.offline.effects")
        render_scene = effects.render_scene
    except (ImportError, AttributeError):
        return gradient_still(prompt, size, seed)
    scene = render_scene(prompt, size, seed)
    if isinstance(scene, Image.Image):
        return scene.convert("RGB")
    return gradient_still(prompt, size, seed)


def _ease(t: float) -> float:
    return 0.5 - 0.5 * math.cos(math.pi * t)


def pan_and_zoom_boxes(
    source: tuple[int, int], frames: int, seed: int
) -> Iterator[tuple[float, float, float, float]]:
    """The crop box of each frame: the whole picture first, then closer and drifting."""
    width, height = source
    angle = (seed % 360) * math.pi / 180.0
    direction = (math.cos(angle), math.sin(angle))
    for index in range(frames):
        t = _ease(index / max(frames - 1, 1))
        zoom = 1.0 + (ZOOM_END - 1.0) * t
        box_width, box_height = width / zoom, height / zoom
        # Drift only as far as the zoom leaves room, so the box stays in the picture.
        cx = width / 2 + direction[0] * (width - box_width) / 2 * 0.9
        cy = height / 2 + direction[1] * (height - box_height) / 2 * 0.9
        yield (
            cx - box_width / 2,
            cy - box_height / 2,
            cx + box_width / 2,
            cy + box_height / 2,
        )


def write_pan_and_zoom(
    path: Path,
    still: Image.Image,
    size: tuple[int, int],
    duration_s: float,
    seed: int,
    on_frame: Callable[[float], bool],
) -> bool:
    """Encode a Ken Burns move over ``still`` as an H.264 yuv420p MP4 at ``path``.

    ``on_frame`` hears the fraction done after each frame and returns False to stop;
    the return value says whether the video was finished.
    """
    frames = max(1, round(duration_s * FPS))
    # Render from a slightly larger copy so the closest frame still has full detail.
    source_size = (round(size[0] * ZOOM_END), round(size[1] * ZOOM_END))
    source = _cover(still, source_size)

    with av.open(
        str(path), "w", format="mp4", options={"movflags": "+faststart"}
    ) as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "superfast", "crf": "23"}
        for index, box in enumerate(pan_and_zoom_boxes(source_size, frames, seed)):
            frame = source.resize(size, Image.Resampling.BILINEAR, box=box)
            video_frame = av.VideoFrame.from_ndarray(np.asarray(frame), format="rgb24")
            for packet in stream.encode(video_frame):
                out.mux(packet)
            if not on_frame((index + 1) / frames):
                return False
        for packet in stream.encode(None):
            out.mux(packet)
    return True


# --- reading requests -----------------------------------------------------------------


def _decode_base64(data: str) -> bytes:
    """Decode base64 in either alphabet, with or without padding."""
    padded = data + "=" * (-len(data) % 4)
    try:
        return base64.b64decode(
            padded.replace("-", "+").replace("_", "/"), validate=True
        )
    except (binascii.Error, ValueError) as exc:
        raise ValueError("The image data is not valid base64.") from exc


def _content_items(value: Any) -> Iterator[dict[str, Any]]:
    """Every content block in an interaction input: a string, blocks, or steps."""
    if isinstance(value, str):
        yield {"type": "text", "text": value}
    elif isinstance(value, list):
        for item in value:
            yield from _content_items(item)
    elif isinstance(value, dict):
        if "content" in value and value.get("type") not in ("text", "image"):
            yield from _content_items(value["content"])
        else:
            yield value


def _duration(value: Any) -> float:
    if value is None or value == "":
        return DEFAULT_DURATION_S
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*s?\s*", str(value))
    if not match:
        raise ValueError(f"The duration {value!r} is not a number of seconds.")
    seconds = float(match.group(1))
    if not 1.0 <= seconds <= MAX_DURATION_S:
        raise ValueError(
            f"The duration must be between 1 and {MAX_DURATION_S:g} seconds."
        )
    return seconds


def _check_format(aspect_ratio: str, resolution: str) -> None:
    if aspect_ratio not in ASPECT_RATIOS:
        raise ValueError(f"The aspect ratio must be one of {', '.join(ASPECT_RATIOS)}.")
    if (aspect_ratio, resolution) not in FRAME_SIZES:
        raise ValueError("The offline engine renders 720p or 1080p.")


def _checked_image(data: bytes) -> bytes:
    try:
        load_image(data, "start image")
    except AtelierError as exc:
        raise ValueError(exc.user_message) from exc
    return data


@dataclass(frozen=True)
class VideoAsk:
    """What a create request asks for, in either API's words."""

    prompt: str
    image: bytes | None
    aspect_ratio: str
    resolution: str
    duration_s: float
    delivery: str


def ask_from_interaction(body: dict[str, Any]) -> VideoAsk:
    """Read an Interactions create body; raises ValueError with a message for a 400."""
    if body.get("background") is not True:
        raise ValueError("Video interactions must run in the background.")
    texts: list[str] = []
    image: bytes | None = None
    for item in _content_items(body.get("input")):
        if item.get("type") == "text":
            texts.append(str(item.get("text", "")))
        elif item.get("type") == "image" and image is None and item.get("data"):
            image = _checked_image(_decode_base64(str(item["data"])))
    prompt = " ".join(text for text in texts if text).strip()
    if not prompt and image is None:
        raise ValueError("The input needs a prompt or a start image.")

    formats = body.get("response_format") or {}
    if isinstance(formats, dict):
        formats = [formats]
    video = next(
        (
            item
            for item in formats
            if isinstance(item, dict) and item.get("type") == "video"
        ),
        {},
    )
    aspect_ratio = str(video.get("aspect_ratio") or "16:9")
    resolution = str(video.get("resolution") or "720p")
    _check_format(aspect_ratio, resolution)
    delivery = str(video.get("delivery") or "uri")
    if delivery not in ("uri", "inline"):
        raise ValueError("The delivery must be uri or inline.")
    return VideoAsk(
        prompt,
        image,
        aspect_ratio,
        resolution,
        _duration(video.get("duration")),
        delivery,
    )


def ask_from_veo(body: dict[str, Any]) -> VideoAsk:
    """Read a Veo predictLongRunning body; raises ValueError with a 400's message."""
    instances = body.get("instances") or [{}]
    instance = instances[0] if isinstance(instances[0], dict) else {}
    parameters = body.get("parameters") or {}
    prompt = str(instance.get("prompt") or "").strip()
    image_field = instance.get("image") or {}
    image = None
    if image_field.get("bytesBase64Encoded"):
        image = _checked_image(_decode_base64(str(image_field["bytesBase64Encoded"])))
    if not prompt and image is None:
        raise ValueError("The instance needs a prompt or an image.")
    aspect_ratio = str(parameters.get("aspectRatio") or "16:9")
    resolution = str(parameters.get("resolution") or "720p")
    _check_format(aspect_ratio, resolution)
    return VideoAsk(
        prompt,
        image,
        aspect_ratio,
        resolution,
        _duration(parameters.get("durationSeconds")),
        "inline",
    )


# --- answers --------------------------------------------------------------------------


def _iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def _fault_response(rule: FaultRule) -> EngineResponse:
    status = int(rule.kind)
    if status == 429:
        response = error_response(
            429,
            "Resource has been exhausted (offline engine fault).",
            [
                {
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": f"{rule.delay_s:g}s",
                }
            ],
        )
        response.headers["Retry-After"] = str(math.ceil(rule.delay_s))
        return response
    return error_response(status, f"Offline engine fault {status}.")


def _video_bytes_b64(board: JobBoard, job: RenderJob) -> str:
    return base64.b64encode(board.video_path(job.id).read_bytes()).decode("ascii")


def interaction_json(board: JobBoard, job: RenderJob, now: float) -> dict[str, Any]:
    phase = board.phase(job, now)
    body: dict[str, Any] = {
        "id": job.id,
        "model": job.model,
        "status": phase.status,
        "created": _iso(job.created),
        "updated": _iso(now),
        "progress": round(phase.progress, 3),
    }
    if phase.status == "completed":
        video: dict[str, Any] = {"type": "video", "mime_type": "video/mp4"}
        if job.delivery == "inline":
            video["data"] = _video_bytes_b64(board, job)
        else:
            video["uri"] = DOWNLOAD_URI.format(id=job.id)
        body["steps"] = [{"type": "model_output", "content": [video]}]
    elif phase.status == "filtered":
        # Finished, but with no video: the reasons use Veo's field names.
        body["status"] = "completed"
        body["rai_media_filtered_count"] = len(FILTER_REASONS)
        body["rai_media_filtered_reasons"] = list(FILTER_REASONS)
    elif phase.status == "failed":
        body["errors"] = [{"code": "internal", "message": phase.message}]
    return body


def operation_json(board: JobBoard, job: RenderJob, now: float) -> dict[str, Any]:
    phase = board.phase(job, now)
    body: dict[str, Any] = {"name": f"{job.resource}/operations/{job.id}"}
    if phase.status == "in_progress":
        body["done"] = False
        body["metadata"] = {"progressPercent": round(phase.progress * 100)}
        return body

    body["done"] = True
    response_type = (
        "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
    )
    if phase.status == "completed":
        body["response"] = {
            "@type": response_type,
            "videos": [
                {
                    "bytesBase64Encoded": _video_bytes_b64(board, job),
                    "mimeType": "video/mp4",
                }
            ],
        }
    elif phase.status == "filtered":
        body["response"] = {
            "@type": response_type,
            "raiMediaFilteredCount": len(FILTER_REASONS),
            "raiMediaFilteredReasons": list(FILTER_REASONS),
        }
    elif phase.status == "cancelled":
        body["error"] = {"code": 1, "message": phase.message}
    else:
        body["error"] = {"code": 13, "message": phase.message}
    return body


# --- routes ---------------------------------------------------------------------------


def _start(
    engine: OfflineEngine, ask: VideoAsk, rule: FaultRule | None, api: str, model: str
) -> RenderJob:
    """A new job; a matching fault rule decides how it ends."""
    fault = ""
    if rule is not None:
        if rule.kind == "slow":
            time.sleep(rule.delay_s)
        elif rule.kind in FILTER_KINDS or rule.kind in ("video_error", "video_stuck"):
            fault = rule.kind
    return RenderJob(
        id=uuid.uuid4().hex,
        api=api,
        model=model,
        prompt=ask.prompt,
        aspect_ratio=ask.aspect_ratio,
        resolution=ask.resolution,
        duration_s=ask.duration_s,
        delivery=ask.delivery,
        created=time.time(),
        run_seconds=float(engine.plan.video_seconds),
        fault=fault,
        has_image=ask.image is not None,
    )


def create_interaction(engine: OfflineEngine, request: EngineRequest) -> EngineResponse:
    if engine.plan.latency_s:
        time.sleep(engine.plan.latency_s)
    body = request.body if isinstance(request.body, dict) else {}
    model = str(body.get("model") or "")
    if not model:
        return error_response(400, "A video interaction needs a model.")
    try:
        ask = ask_from_interaction(body)
    except ValueError as exc:
        return error_response(400, str(exc))
    rule = engine.plan.take(ask.prompt, operation="video")
    if rule is not None and rule.kind in HTTP_KINDS:
        return _fault_response(rule)

    board = board_of(engine)
    job = _start(engine, ask, rule, "interactions", model)
    board.add(job, ask.image)
    return EngineResponse(body=interaction_json(board, job, time.time()))


def _job_or_404(engine: OfflineEngine, request: EngineRequest) -> RenderJob | None:
    assert request.match is not None
    return board_of(engine).find(request.match.group("id"))


def get_interaction(engine: OfflineEngine, request: EngineRequest) -> EngineResponse:
    job = _job_or_404(engine, request)
    if job is None or job.api != "interactions":
        return error_response(404, "No such interaction.")
    return EngineResponse(body=interaction_json(board_of(engine), job, time.time()))


def cancel_interaction(engine: OfflineEngine, request: EngineRequest) -> EngineResponse:
    job = _job_or_404(engine, request)
    if job is None or job.api != "interactions":
        return error_response(404, "No such interaction.")
    board = board_of(engine)
    now = time.time()
    # Cancelling a finished job leaves it as it was, so a late click does no harm.
    if board.phase(job, now).status == "in_progress":
        job.cancelled_at = now
        board.save(job)
    return EngineResponse(body=interaction_json(board, job, now))


def delete_interaction(engine: OfflineEngine, request: EngineRequest) -> EngineResponse:
    job = _job_or_404(engine, request)
    if job is None or job.api != "interactions":
        return error_response(404, "No such interaction.")
    board_of(engine).remove(job.id)
    return EngineResponse(body={})


def download_file(engine: OfflineEngine, request: EngineRequest) -> EngineResponse:
    assert request.match is not None
    board = board_of(engine)
    job = board.find(request.match.group("id"))
    if job is None or not board.has_video(job.id):
        return error_response(404, "No such file.")
    return EngineResponse(
        body=board.video_path(job.id).read_bytes(), content_type="video/mp4"
    )


def predict_long_running(
    engine: OfflineEngine, request: EngineRequest
) -> EngineResponse:
    if engine.plan.latency_s:
        time.sleep(engine.plan.latency_s)
    assert request.match is not None
    body = request.body if isinstance(request.body, dict) else {}
    try:
        ask = ask_from_veo(body)
    except ValueError as exc:
        return error_response(400, str(exc))
    rule = engine.plan.take(ask.prompt, operation="video")
    if rule is not None and rule.kind in HTTP_KINDS:
        return _fault_response(rule)

    board = board_of(engine)
    job = _start(engine, ask, rule, "veo", request.match.group("model"))
    job.resource = request.match.group("resource")
    board.add(job, ask.image)
    return EngineResponse(body=operation_json(board, job, time.time()))


def fetch_predict_operation(
    engine: OfflineEngine, request: EngineRequest
) -> EngineResponse:
    body = request.body if isinstance(request.body, dict) else {}
    name = str(body.get("operationName") or "")
    job = board_of(engine).find(name.rpartition("/operations/")[2])
    if job is None or job.api != "veo":
        return error_response(404, "No such operation.")
    return EngineResponse(body=operation_json(board_of(engine), job, time.time()))


def default_directory() -> Path:
    return Path(tempfile.gettempdir()) / "atelier-offline-video"


def register(engine: OfflineEngine) -> None:
    """Add the video routes to the engine, with a job board kept on disk."""
    board = JobBoard(default_directory())
    board.prune()
    engine.state[STATE_KEY] = board

    version = r"/v1[a-z0-9]*"
    interaction = version + r"/interactions/(?P<id>[^/:]+)"
    engine.route("POST", version + r"/interactions", create_interaction)
    engine.route("GET", interaction, get_interaction)
    engine.route("POST", interaction + r"/cancel", cancel_interaction)
    engine.route("DELETE", interaction, delete_interaction)
    engine.route("GET", version + r"/files/(?P<id>[a-z0-9]+):download", download_file)

    veo = (
        version + r"/(?P<resource>(?:projects/[^/]+/locations/[^/]+/)?"
        r"publishers/google/models/(?P<model>[^/:]+))"
    )
    engine.route("POST", veo + r":predictLongRunning", predict_long_running)
    engine.route("POST", veo + r":fetchPredictOperation", fetch_predict_operation)
