"""Video jobs through the real SDK against the offline engine, started in this process."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image, ImageOps

from services import video
from services.config import Settings
from services.errors import AtelierError, ErrorCode
from services.gemini import make_client
from services.offline.faults import FaultPlan
from services.offline.server import RunningEngine, start_in_thread
from services.offline.video_jobs import board_of

VIDEO_SECONDS = 1.5
SECRET_KEY = "test-key-that-must-not-leak-7f3a"


def start_engine(board_directory: Path) -> RunningEngine:
    running = start_in_thread(plan=FaultPlan(video_seconds=VIDEO_SECONDS))
    board_of(running.engine).directory = board_directory
    return running


@pytest.fixture()
def video_engine(tmp_path: Path) -> Iterator[RunningEngine]:
    running = start_engine(tmp_path / "engine")
    yield running
    board_of(running.engine).stop()
    running.stop()


@pytest.fixture()
def video_settings(video_engine: RunningEngine, tmp_path: Path) -> Settings:
    return Settings(
        api_key=SECRET_KEY,
        base_url=video_engine.base_url,
        request_timeout_s=30.0,
        retry_attempts=2,
        retry_budget_s=10.0,
        data_dir=tmp_path / "data",
    )


@pytest.fixture()
def video_client(video_settings: Settings) -> Any:
    return make_client(video_settings)


def set_faults(running: RunningEngine, *faults: dict[str, Any]) -> None:
    running.engine.plan.replace(
        {"faults": list(faults), "video_seconds": VIDEO_SECONDS}
    )


def poll(
    client: Any, settings: Settings, job_id: str, timeout: float = 40.0
) -> list[video.VideoStatus]:
    """Every status read until the job finishes (or the timeout passes)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = video.video_status(client, settings, job_id)
        seen.append(status)
        if status.is_finished:
            break
        time.sleep(0.3)
    return seen


def probe_mp4(data: bytes) -> dict[str, Any]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
        return {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "size": (stream.width, stream.height),
            "fps": float(stream.average_rate or 0),
            "duration_s": (container.duration or 0) / 1_000_000,
            "first_frame": first,
        }


def centre_crop(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(ImageOps.fit(image.convert("RGB"), size), dtype=np.float64)


# --- the job lifecycle ---------------------------------------------------------------


def test_start_returns_at_once_and_progress_climbs_to_a_playable_video(
    video_client: Any, video_settings: Settings
) -> None:
    started = time.monotonic()
    job_id = video.start_video(
        video_client,
        video_settings,
        video.VideoRequest("a quiet harbour at dawn", duration_s=4),
    )
    # The call does not wait for the render: the first poll still finds it running.
    assert time.monotonic() - started < 5.0

    seen = poll(video_client, video_settings, job_id)
    assert seen[0].state == "running"

    running = [status for status in seen if status.state == "running"]
    progress = [status.progress for status in running if status.progress is not None]
    assert len(set(progress)) >= 3
    assert progress == sorted(progress)
    assert 0.0 <= progress[0] < 0.5 and progress[-1] < 1.0
    final = seen[-1]
    assert final.state == "done" and final.progress == 1.0
    assert final.mime == "video/mp4" and final.video is not None
    info = probe_mp4(final.video)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert info["size"] == (1280, 720)
    assert info["fps"] == 24.0
    assert 3.5 < info["duration_s"] < 4.5


def test_vertical_video_has_portrait_frames(
    video_client: Any, video_settings: Settings
) -> None:
    job_id = video.start_video(
        video_client,
        video_settings,
        video.VideoRequest("a tall waterfall", aspect_ratio="9:16"),
    )

    final = poll(video_client, video_settings, job_id)[-1]

    assert final.state == "done" and final.video is not None
    info = probe_mp4(final.video)
    assert info["size"] == (720, 1280)
    assert info["duration_s"] > 0


def test_first_frame_shows_the_start_image(
    video_client: Any, video_settings: Settings, photos: Path
) -> None:
    photo = (photos / "rocket.jpg").read_bytes()
    job_id = video.start_video(
        video_client,
        video_settings,
        video.VideoRequest("the rocket lifts off", photo, "image/jpeg"),
    )

    final = poll(video_client, video_settings, job_id)[-1]

    assert final.state == "done" and final.video is not None
    first = Image.fromarray(probe_mp4(final.video)["first_frame"])
    with Image.open(photos / "rocket.jpg") as original:
        expected = centre_crop(original, (32, 18))
    shown = centre_crop(first, (32, 18))
    # The opening frame is the whole (cropped) photo: close colour, close layout.
    assert np.abs(shown.mean(axis=(0, 1)) - expected.mean(axis=(0, 1))).max() < 8
    assert np.abs(shown - expected).mean() < 20


def test_filtered_job_ends_without_video_and_says_why(
    video_engine: RunningEngine, video_client: Any, video_settings: Settings
) -> None:
    set_faults(video_engine, {"kind": "video_filtered"})
    job_id = video.start_video(
        video_client, video_settings, video.VideoRequest("anything at all")
    )

    final = poll(video_client, video_settings, job_id)[-1]

    assert final.state == "filtered"
    assert final.video is None
    assert final.filter_reasons and "filter" in final.filter_reasons[0]
    assert "not charged" in final.message


def test_error_fault_fails_half_way_with_its_message(
    video_engine: RunningEngine, video_client: Any, video_settings: Settings
) -> None:
    set_faults(video_engine, {"kind": "video_error"})
    job_id = video.start_video(
        video_client, video_settings, video.VideoRequest("a storm")
    )

    seen = poll(video_client, video_settings, job_id)

    final = seen[-1]
    assert final.state == "failed" and final.video is None
    assert "render failed half way" in final.message
    assert final.progress == pytest.approx(0.5)
    assert any(status.state == "running" for status in seen)


def test_stuck_job_keeps_running(
    video_engine: RunningEngine, video_client: Any, video_settings: Settings
) -> None:
    set_faults(video_engine, {"kind": "video_stuck"})
    job_id = video.start_video(
        video_client, video_settings, video.VideoRequest("a slow sunrise")
    )

    time.sleep(VIDEO_SECONDS * 2)
    status = video.video_status(video_client, video_settings, job_id)

    assert status.state == "running"
    assert status.progress is not None and 0.5 < status.progress < 1.0


def test_cancel_stops_a_running_job(
    video_engine: RunningEngine, video_client: Any, video_settings: Settings
) -> None:
    set_faults(video_engine, {"kind": "video_stuck"})
    job_id = video.start_video(
        video_client, video_settings, video.VideoRequest("a long take")
    )

    video.cancel_video(video_client, video_settings, job_id)

    status = video.video_status(video_client, video_settings, job_id)
    assert status.state == "cancelled" and status.video is None
    assert status.is_finished


def test_deleted_job_is_gone_from_the_service(
    video_client: Any, video_settings: Settings
) -> None:
    job_id = video.start_video(
        video_client, video_settings, video.VideoRequest("a brief moment")
    )

    video.delete_video(video_client, video_settings, job_id)

    with pytest.raises(AtelierError):
        video.video_status(video_client, video_settings, job_id)


def test_unusable_requests_are_refused_before_any_call(
    video_engine: RunningEngine, video_client: Any, video_settings: Settings
) -> None:
    video_engine.engine.request_log.clear()
    bad_requests = [
        video.VideoRequest("square", aspect_ratio="1:1"),
        video.VideoRequest("too long a clip", duration_s=5),
        video.VideoRequest("too sharp", resolution="4k"),
        video.VideoRequest("   "),
        video.VideoRequest("not a picture", start_image=b"plain text, not an image"),
    ]

    for request in bad_requests:
        with pytest.raises(AtelierError) as caught:
            video.start_video(video_client, video_settings, request)
        assert caught.value.code is ErrorCode.INVALID_INPUT

    assert list(video_engine.engine.request_log) == []


def test_an_http_fault_on_start_becomes_an_atelier_error(
    video_engine: RunningEngine, video_client: Any, video_settings: Settings
) -> None:
    set_faults(video_engine, {"kind": "400", "times": 1})

    with pytest.raises(AtelierError) as caught:
        video.start_video(video_client, video_settings, video.VideoRequest("a field"))

    assert caught.value.code is ErrorCode.INVALID_INPUT


def test_inline_video_data_is_decoded(
    video_client: Any, video_settings: Settings
) -> None:
    # Started by hand, as the studio always asks for a URI.
    answer = video_client.interactions.create(
        model=video_settings.video_model,
        background=True,
        input="a lantern in the dark",
        response_format={
            "type": "video",
            "aspect_ratio": "16:9",
            "duration": "2s",
            "delivery": "inline",
        },
    )

    final = poll(video_client, video_settings, answer.id)[-1]

    assert final.state == "done" and final.video is not None
    info = probe_mp4(final.video)
    assert info["size"] == (1280, 720) and 1.5 < info["duration_s"] < 2.5


def test_each_call_logs_one_line_without_the_key(
    video_engine: RunningEngine,
    video_client: Any,
    video_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    set_faults(video_engine, {"kind": "video_stuck"})
    caplog.set_level(logging.INFO, logger="services.gemini")

    job_id = video.start_video(
        video_client, video_settings, video.VideoRequest("a paper boat")
    )
    video.video_status(video_client, video_settings, job_id)

    lines = [
        record.getMessage()
        for record in caplog.records
        if record.name == "services.gemini"
    ]
    assert len(lines) == 2
    assert "operation=video_start" in lines[0] and "outcome=OK" in lines[0]
    assert "operation=video_status" in lines[1]
    assert all(SECRET_KEY not in line for line in lines)


# --- Veo operations (Enterprise mode) ------------------------------------------------


def test_veo_operation_runs_to_a_video_with_its_negative_prompt_accepted(
    video_engine: RunningEngine, video_settings: Settings, photos: Path
) -> None:
    from google import genai
    from google.genai import types

    # Express mode: Vertex paths with a key, so no Cloud credentials are needed.
    client = genai.Client(
        vertexai=True,
        api_key="offline",
        http_options=types.HttpOptions(base_url=video_engine.base_url, timeout=30000),
    )
    settings = replace(video_settings, enterprise=True)
    assert video.video_options(settings).negative_prompt

    job_id = video.start_video(
        client,
        settings,
        video.VideoRequest(
            "the rocket at night",
            (photos / "rocket.jpg").read_bytes(),
            "image/jpeg",
            aspect_ratio="9:16",
            duration_s=4,
            negative_prompt="text, watermark",
        ),
    )
    assert video.is_operation_name(job_id)

    seen = poll(client, settings, job_id)
    assert any(
        status.state == "running" and status.progress is not None for status in seen
    )
    final = seen[-1]
    assert final.state == "done" and final.video is not None
    assert probe_mp4(final.video)["size"] == (720, 1280)
    with pytest.raises(AtelierError) as caught:
        video.cancel_video(client, settings, job_id)
    assert caught.value.code is ErrorCode.INVALID_INPUT


# --- the job store -------------------------------------------------------------------


def test_store_round_trips_a_job_and_removes_its_files(tmp_path: Path) -> None:
    store = video.VideoJobStore(tmp_path / "jobs")
    job = video.VideoJob(
        id="0123456789abcdef",
        operation_id="abc",
        prompt="a kite, “high” up",
        engine="offline",
        model="veo-3.1-generate",
        aspect_ratio="9:16",
        duration_s=6,
        state="filtered",
        filter_reasons=("one", "two"),
        created_at=100.0,
        finished_at=130.0,
    )
    older = replace(job, id="fedcba9876543210", created_at=50.0)

    store.save(job)
    store.save(older)
    video_path = store.save_video(job.id, b"mp4 bytes")
    store.save(replace(job, video_path=str(video_path)))

    again = video.VideoJobStore(tmp_path / "jobs")
    loaded = again.get(job.id)
    assert loaded == replace(job, video_path=str(video_path))
    assert loaded is not None and again.read_video(loaded) == b"mp4 bytes"
    assert [item.id for item in again.list()] == [job.id, older.id]
    assert not list((tmp_path / "jobs").glob("*.part"))
    assert loaded.elapsed_s() == 30.0

    again.remove(job.id)
    assert again.get(job.id) is None
    assert not video_path.exists()
    assert [item.id for item in again.list()] == [older.id]


def test_store_skips_a_damaged_record(tmp_path: Path) -> None:
    store = video.VideoJobStore(tmp_path)
    (tmp_path / "0123456789abcdef.json").write_text("{not json", encoding="utf-8")

    assert store.list() == []
    with pytest.raises(ValueError):
        store.get("../escape")


def test_job_resumes_with_a_new_client_and_store_after_an_app_restart(
    video_settings: Settings, photos: Path
) -> None:
    photo = (photos / "rocket.jpg").read_bytes()
    first_client = make_client(video_settings)
    first_store = video.job_store(video_settings)
    job = video.start_job(
        first_client,
        video_settings,
        first_store,
        video.VideoRequest("the rocket", photo, "image/jpeg", duration_s=4),
    )
    job = video.refresh_job(first_client, video_settings, first_store, job)
    assert job.state == "running"

    # As after a restart: nothing survives but the files in the data directory.
    client = make_client(video_settings)
    store = video.job_store(video_settings)
    (resumed,) = store.list()
    assert resumed.id == job.id and resumed.operation_id == job.operation_id
    deadline = time.monotonic() + 40
    while not resumed.is_finished and time.monotonic() < deadline:
        time.sleep(0.2)
        resumed = video.refresh_job(client, video_settings, store, resumed)

    assert resumed.state == "done" and resumed.finished_at is not None
    assert store.get(job.id) == resumed
    data = store.read_video(resumed)
    assert data is not None and probe_mp4(data)["size"] == (1280, 720)
    assert video.retry_request(store, resumed).start_image == photo
    stored_text = "".join(
        path.read_text(encoding="utf-8") for path in store.directory.glob("*.json")
    )
    assert SECRET_KEY not in stored_text and "files/" not in stored_text


def test_job_resumes_after_the_offline_engine_restarts(
    video_engine: RunningEngine, video_settings: Settings, tmp_path: Path
) -> None:
    store = video.job_store(video_settings)
    job = video.start_job(
        make_client(video_settings),
        video_settings,
        store,
        video.VideoRequest("a windmill turning"),
    )
    # The engine goes down with the app, mid-render.
    board_of(video_engine.engine).stop()
    video_engine.stop()

    # The app starts a fresh engine on a new port over the same engine directory.
    restarted = start_engine(tmp_path / "engine")
    try:
        settings = replace(video_settings, base_url=restarted.base_url)
        client = make_client(settings)
        deadline = time.monotonic() + 40
        while not job.is_finished and time.monotonic() < deadline:
            time.sleep(0.2)
            job = video.refresh_job(client, settings, store, job)
    finally:
        restarted.stop()

    assert job.state == "done"
    data = store.read_video(job)
    assert data is not None and probe_mp4(data)["duration_s"] > 0


def test_cancel_and_remove_jobs_through_the_store(
    video_engine: RunningEngine, video_client: Any, video_settings: Settings
) -> None:
    set_faults(video_engine, {"kind": "video_stuck"})
    store = video.job_store(video_settings)
    job = video.start_job(
        video_client, video_settings, store, video.VideoRequest("a spinning top")
    )

    cancelled = video.cancel_job(video_client, video_settings, store, job)
    assert cancelled.state == "cancelled" and cancelled.finished_at is not None
    assert store.get(job.id) == cancelled

    video.remove_job(video_client, video_settings, store, cancelled)
    assert store.list() == []
    with pytest.raises(AtelierError):
        video.video_status(video_client, video_settings, job.operation_id)


def test_a_job_the_service_forgot_ends_as_failed(
    video_client: Any, video_settings: Settings
) -> None:
    store = video.job_store(video_settings)
    job = video.VideoJob(
        id="0123456789abcdef",
        operation_id="feedfacefeedface",
        prompt="lost",
        engine=video_settings.engine,
        model=video_settings.video_model,
        aspect_ratio="16:9",
        created_at=time.time(),
    )

    failed = video.refresh_job(video_client, video_settings, store, job)

    assert failed.state == "failed" and failed.error_message
    assert store.get(job.id) == failed
    assert json.loads((store.directory / f"{job.id}.json").read_text())["state"] == (
        "failed"
    )
