"""The session's shared history of results: small records holding bytes, not images."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class HistoryEntry:
    """One result: the bytes, where it came from, and what produced it."""

    data: bytes = field(repr=False)
    mime_type: str
    width: int
    height: int
    page: str
    prompt: str
    model: str
    created: float = field(default_factory=time.time)
    entry_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    parent_id: str | None = None
    note: str = ""

    @property
    def size_bytes(self) -> int:
        return len(self.data)

    @property
    def is_video(self) -> bool:
        return self.mime_type.startswith("video/")


@dataclass(frozen=True)
class History:
    """Newest first, trimmed to a byte cap by dropping the oldest entries."""

    entries: tuple[HistoryEntry, ...] = ()
    cap_bytes: int = 300 * 1024 * 1024
    dropped: int = 0

    @property
    def total_bytes(self) -> int:
        return sum(entry.size_bytes for entry in self.entries)

    def add(self, entry: HistoryEntry) -> History:
        return self._trimmed([entry, *self.entries], self.cap_bytes)

    def with_cap(self, cap_bytes: int) -> History:
        """The same history under another cap, dropping the oldest entries over it."""
        return self._trimmed(list(self.entries), cap_bytes)

    def _trimmed(self, kept: list[HistoryEntry], cap_bytes: int) -> History:
        # The newest entry always stays, even alone over the cap: it is what the
        # user just made and is looking at.
        dropped = self.dropped
        while len(kept) > 1 and sum(item.size_bytes for item in kept) > cap_bytes:
            kept.pop()
            dropped += 1
        return replace(self, entries=tuple(kept), cap_bytes=cap_bytes, dropped=dropped)

    def get(self, entry_id: str) -> HistoryEntry | None:
        return next(
            (entry for entry in self.entries if entry.entry_id == entry_id), None
        )

    def without(self, entry_id: str) -> History:
        return replace(
            self, entries=tuple(e for e in self.entries if e.entry_id != entry_id)
        )

    def cleared(self) -> History:
        return replace(self, entries=(), dropped=0)

    def lineage(self, entry_id: str) -> list[HistoryEntry]:
        """The chain of versions that led to an entry, oldest first."""
        chain: list[HistoryEntry] = []
        current = self.get(entry_id)
        while current is not None and current not in chain:
            chain.append(current)
            current = self.get(current.parent_id) if current.parent_id else None
        return list(reversed(chain))
