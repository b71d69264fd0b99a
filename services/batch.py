"""Many edits at once, with bounded concurrency, each item failing on its own."""

from __future__ import annotations

import io
import json
import logging
import re
import time
import uuid
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from types import TracebackType

from google import genai

from services import gemini, images
from services.config import Settings
from services.errors import AtelierError, invalid_input

logger = logging.getLogger(__name__)

MAX_IMAGES = 8
MAX_PROMPTS = 12


@dataclass(frozen=True)
class BatchItem:
    item_id: str
    image: gemini.InputImage
    prompt: str
    mask_png: bytes | None = None


@dataclass(frozen=True)
class BatchOutcome:
    item: BatchItem
    answer: gemini.ModelAnswer | None
    error: AtelierError | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.answer is not None and bool(self.answer.images)


@dataclass(frozen=True)
class BatchSource:
    """A photo offered to a batch, with its upright size for matching the mask."""

    image: gemini.InputImage
    width: int
    height: int


@dataclass(frozen=True)
class BatchPlan:
    """The items to run, and the photos the mask was not applied to."""

    items: tuple[BatchItem, ...]
    unmasked: tuple[str, ...] = ()


@dataclass(frozen=True)
class BatchJob:
    """A batch as a page keeps it between reruns: its items and what became of each."""

    items: tuple[BatchItem, ...]
    outcomes: Mapping[str, BatchOutcome] = field(default_factory=dict)
    unmasked: tuple[str, ...] = ()

    def with_outcome(self, outcome: BatchOutcome) -> BatchJob:
        return replace(self, outcomes={**self.outcomes, outcome.item.item_id: outcome})

    @property
    def finished(self) -> list[BatchOutcome]:
        """Outcomes in the items' order (items not yet run are left out)."""
        return [
            self.outcomes[item.item_id]
            for item in self.items
            if item.item_id in self.outcomes
        ]

    @property
    def failed(self) -> list[BatchItem]:
        """Items that ended without an image, or never ran (an interrupted batch)."""
        return [
            item
            for item in self.items
            if item.item_id not in self.outcomes or not self.outcomes[item.item_id].ok
        ]

    @property
    def succeeded(self) -> list[BatchOutcome]:
        return [outcome for outcome in self.finished if outcome.ok]


def prompt_lines(text: str) -> list[str]:
    """The prompts in a text box: one per non-empty line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def plan_batch(
    sources: Sequence[BatchSource],
    prompts: Sequence[str],
    mask_png: bytes | None = None,
) -> BatchPlan:
    """Items for one photo with several prompts, or several photos with one prompt.

    ``mask_png`` is painted on the first photo; it goes with every item whose photo
    has that photo's size, and the names of the other photos come back in
    ``unmasked``. Raises AtelierError(INVALID_INPUT) when the combination is not one
    a batch runs.
    """
    if not sources:
        raise invalid_input("Add a photo to start a batch.")
    if not prompts:
        raise invalid_input("Write a prompt (one per line) or pick a preset.")
    if len(sources) > MAX_IMAGES:
        raise invalid_input(
            f"A batch takes up to {MAX_IMAGES} photos; remove {len(sources) - MAX_IMAGES}."
        )
    if len(prompts) > MAX_PROMPTS:
        raise invalid_input(
            f"A batch takes up to {MAX_PROMPTS} prompts; remove "
            f"{len(prompts) - MAX_PROMPTS} lines."
        )
    if len(sources) > 1 and len(prompts) > 1:
        raise invalid_input(
            f"Use one photo with several prompts, or several photos with one prompt "
            f"(there are {len(sources)} photos and {len(prompts)} prompts). Remove "
            "photos or keep a single prompt line."
        )

    pairs = (
        [(sources[0], prompt) for prompt in prompts]
        if len(sources) == 1
        else [(source, prompts[0]) for source in sources]
    )
    mask_size = (sources[0].width, sources[0].height)
    items = []
    unmasked = []
    for source, prompt in pairs:
        fits = mask_png is not None and (source.width, source.height) == mask_size
        if mask_png is not None and not fits:
            unmasked.append(source.image.name)
        items.append(
            BatchItem(
                item_id=uuid.uuid4().hex[:10],
                image=source.image,
                prompt=prompt,
                mask_png=mask_png if fits else None,
            )
        )
    return BatchPlan(tuple(items), tuple(unmasked))


def _run_one(client: genai.Client, settings: Settings, item: BatchItem) -> BatchOutcome:
    started = time.monotonic()
    try:
        answer = gemini.edit(client, settings, item.prompt, [item.image], item.mask_png)
    except AtelierError as error:
        return BatchOutcome(item, None, error.detached(), time.monotonic() - started)
    return BatchOutcome(item, answer, None, time.monotonic() - started)


def workers_for(settings: Settings, count: int, concurrency: int | None = None) -> int:
    """How many items run at once: the requested bound, never more than the items."""
    return max(1, min(concurrency or settings.batch_concurrency, count or 1))


class BatchRun:
    """A batch in flight: at most ``concurrency`` items run at once.

    Use it as a context manager and call ``wait`` until ``done``; ``started`` tells
    whether an item is running yet, so a page can show each item's progress.
    ``futures`` (item id -> future) lets a caller that is stopped early collect the
    outcomes later, after ``leave_running``.
    """

    def __init__(
        self,
        client: genai.Client,
        settings: Settings,
        items: Sequence[BatchItem],
        concurrency: int | None = None,
    ) -> None:
        self.workers = workers_for(settings, len(items), concurrency)
        self._client = client
        self._settings = settings
        self._started: dict[str, float] = {}
        self._pool = futures.ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="atelier-batch"
        )
        self.futures: dict[str, futures.Future[BatchOutcome]] = {
            item.item_id: self._pool.submit(self._run, item) for item in items
        }
        self._pending = set(self.futures.values())
        logger.info("batch started: items=%d concurrency=%d", len(items), self.workers)

    def _run(self, item: BatchItem) -> BatchOutcome:
        self._started[item.item_id] = time.monotonic()
        return _run_one(self._client, self._settings, item)

    @property
    def done(self) -> bool:
        return not self._pending

    def started(self, item_id: str) -> float | None:
        """When the item began (``time.monotonic``), or None while it waits its turn."""
        return self._started.get(item_id)

    def wait(self, timeout: float | None = None) -> list[BatchOutcome]:
        """The items that finished since the last call, waiting up to ``timeout``."""
        finished, self._pending = futures.wait(
            self._pending, timeout=timeout, return_when=futures.FIRST_COMPLETED
        )
        return [future.result() for future in finished]

    def close(self, wait_for_running: bool = True) -> None:
        self._pool.shutdown(wait=wait_for_running, cancel_futures=True)

    def leave_running(self) -> None:
        """Let every item still queued or running finish without anyone waiting.

        For a caller that keeps ``futures`` and collects the outcomes later.
        """
        self._pool.shutdown(wait=False, cancel_futures=False)

    def __enter__(self) -> BatchRun:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        # Leaving early (the user left the page) must not wait for running calls.
        self.close(wait_for_running=kind is None)


def run_batch(
    client: genai.Client,
    settings: Settings,
    items: Sequence[BatchItem],
    concurrency: int | None = None,
) -> Iterator[BatchOutcome]:
    """Run every item, at most ``concurrency`` at a time, yielding each as it finishes.

    A failure (a safety block, say) ends only its own item; the others go on.
    """
    with BatchRun(client, settings, items, concurrency) as run:
        while not run.done:
            yield from run.wait()


def _slug(text: str, limit: int = 32) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words)[:limit].strip("-") or "item"


def result_name(number: int, outcome: BatchOutcome) -> str:
    """The file name of an item's image in the ZIP: number, photo and prompt."""
    assert outcome.answer is not None
    data = outcome.answer.images[0].data
    stem = _slug(PurePath(outcome.item.image.name).stem, 20)
    return (
        f"{number:02d}-{stem}-{_slug(outcome.item.prompt)}.{images.extension_for(data)}"
    )


def _zip(
    rows: Sequence[tuple[int, BatchItem, BatchOutcome | None]], model: str
) -> bytes:
    buffer = io.BytesIO()
    manifest = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, item, outcome in rows:
            record: dict[str, object] = {
                "item": number,
                "source": item.image.name,
                "prompt": item.prompt,
                "model": outcome.answer.model if outcome and outcome.answer else model,
                "masked": item.mask_png is not None,
            }
            if outcome is None:
                record.update(outcome="NOT_RUN")
            elif outcome.ok and outcome.answer is not None:
                result = outcome.answer.images[0]
                name = result_name(number, outcome)
                # Images are compressed already; deflating them only costs time.
                archive.writestr(name, result.data, compress_type=zipfile.ZIP_STORED)
                record.update(
                    outcome="OK",
                    file=name,
                    size=f"{result.width}x{result.height}",
                    seconds=round(outcome.seconds, 2),
                )
            else:
                code = outcome.error.code.value if outcome.error else "NO_IMAGE"
                message = outcome.error.user_message if outcome.error else ""
                record.update(
                    outcome=code, message=message, seconds=round(outcome.seconds, 2)
                )
            manifest.append(record)
        archive.writestr(
            "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False)
        )
    return buffer.getvalue()


def batch_zip(outcomes: Sequence[BatchOutcome], model: str) -> bytes:
    """A ZIP of every finished image plus manifest.json describing every outcome.

    The manifest lists, per item: number, source photo, prompt, model, whether it was
    masked, the outcome (OK or an error code) and, for images, file name and size.
    """
    return _zip(
        [(number, outcome.item, outcome) for number, outcome in enumerate(outcomes, 1)],
        model,
    )


def job_zip(job: BatchJob, model: str) -> bytes:
    """``batch_zip`` for a whole job: numbered as its items, with NOT_RUN for the rest."""
    return _zip(
        [
            (number, item, job.outcomes.get(item.item_id))
            for number, item in enumerate(job.items, 1)
        ],
        model,
    )
