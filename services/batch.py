"""Many edits at once, with bounded concurrency, each item failing on its own."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from google import genai

from services import gemini, images
from services.config import Settings
from services.errors import AtelierError


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


def _run_one(client: genai.Client, settings: Settings, item: BatchItem) -> BatchOutcome:
    started = time.monotonic()
    try:
        answer = gemini.edit(client, settings, item.prompt, [item.image], item.mask_png)
    except AtelierError as error:
        return BatchOutcome(item, None, error, time.monotonic() - started)
    return BatchOutcome(item, answer, None, time.monotonic() - started)


def run_batch(
    client: genai.Client,
    settings: Settings,
    items: Sequence[BatchItem],
    concurrency: int | None = None,
) -> Iterator[BatchOutcome]:
    """Run every item, at most ``concurrency`` at a time, yielding each as it finishes.

    A failure (a safety block, say) ends only its own item; the others go on.
    """
    workers = max(1, min(concurrency or settings.batch_concurrency, len(items) or 1))
    with ThreadPoolExecutor(
        max_workers=workers, thread_name_prefix="atelier-batch"
    ) as pool:
        futures = [pool.submit(_run_one, client, settings, item) for item in items]
        for future in as_completed(futures):
            yield future.result()


def batch_zip(outcomes: Sequence[BatchOutcome], model: str) -> bytes:
    """A ZIP of every finished image plus manifest.json describing every item."""
    buffer = io.BytesIO()
    manifest = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, outcome in enumerate(outcomes, 1):
            record: dict[str, object] = {
                "item": number,
                "source": outcome.item.image.name,
                "prompt": outcome.item.prompt,
                "model": model,
                "masked": outcome.item.mask_png is not None,
                "seconds": round(outcome.seconds, 2),
            }
            if outcome.ok and outcome.answer is not None:
                result = outcome.answer.images[0]
                name = f"{number:02d}-{outcome.item.item_id}.{images.extension_for(result.data)}"
                archive.writestr(name, result.data)
                record.update(
                    outcome="OK", file=name, size=f"{result.width}x{result.height}"
                )
            else:
                code = outcome.error.code.value if outcome.error else "NO_IMAGE"
                message = outcome.error.user_message if outcome.error else ""
                record.update(outcome=code, message=message)
            manifest.append(record)
        archive.writestr(
            "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False)
        )
    return buffer.getvalue()
