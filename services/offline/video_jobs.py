"""Video jobs of the offline engine (filled in by the video work)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.offline.server import OfflineEngine


def register(engine: OfflineEngine) -> None:
    """Add the video routes to the engine."""
