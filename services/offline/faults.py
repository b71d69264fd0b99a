"""Injected faults for the offline engine, so tests and demos can meet every failure."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

# kind -> what the engine does instead of answering normally
FAULT_KINDS = {
    "429": "HTTP 429 RESOURCE_EXHAUSTED with a RetryInfo delay",
    "500": "HTTP 500 INTERNAL",
    "503": "HTTP 503 UNAVAILABLE",
    "400": "HTTP 400 INVALID_ARGUMENT",
    "401": "HTTP 401 UNAUTHENTICATED",
    "403": "HTTP 403 PERMISSION_DENIED",
    "404": "HTTP 404 NOT_FOUND",
    "409": "HTTP 409 ABORTED, a status Atelier has no special meaning for",
    "safety": "a candidate with finishReason SAFETY and no content",
    "image_safety": "a candidate with finishReason IMAGE_SAFETY and no content",
    "prohibited": "a candidate with finishReason PROHIBITED_CONTENT",
    "image_prohibited": "a candidate with finishReason IMAGE_PROHIBITED_CONTENT",
    "image_recitation": "a candidate with finishReason IMAGE_RECITATION",
    "image_other": "a candidate with finishReason IMAGE_OTHER",
    "no_image": "a candidate with finishReason NO_IMAGE",
    "blocked_prompt": "no candidates and promptFeedback.blockReason SAFETY",
    "empty": "no candidates at all",
    "no_parts": "a candidate whose content has no parts",
    "text_only": "a text answer and no image",
    "slow": "answer normally after a long delay (seconds from delay_s)",
    "duplicate_image": "the same image twice, after a different draft thought image",
    "video_filtered": "a video job that ends filtered by a content filter",
    "video_error": "a video job that fails half way",
    "video_stuck": "a video job that never finishes",
}


@dataclass
class FaultRule:
    """Inject ``kind`` into matching requests; ``times`` < 0 means every time."""

    kind: str
    times: int = -1
    match: str = ""
    delay_s: float = 2.0
    operation: str = ""
    # An HTTP error whose message quotes the caller's key, as a careless proxy might.
    echo_key: bool = False

    def matches(self, prompt: str, operation: str) -> bool:
        if self.times == 0:
            return False
        if self.operation and self.operation != operation:
            return False
        return self.match.lower() in prompt.lower()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultRule:
        kind = str(data["kind"])
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        return cls(
            kind=kind,
            times=int(data.get("times", -1)),
            match=str(data.get("match", "")),
            delay_s=float(data.get("delay_s", 2.0)),
            operation=str(data.get("operation", "")),
            echo_key=bool(data.get("echo_key", False)),
        )


@dataclass
class FaultPlan:
    """The engine's current faults and latency, changeable while it runs."""

    latency_s: float = 0.0
    rules: list[FaultRule] = field(default_factory=list)
    video_seconds: float = 8.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, prompt: str, operation: str) -> FaultRule | None:
        """The first rule matching this request, counting one use of it."""
        with self._lock:
            for rule in self.rules:
                if rule.matches(prompt, operation):
                    if rule.times > 0:
                        rule.times -= 1
                    return rule
        return None

    def replace(self, data: dict[str, Any]) -> None:
        rules = [FaultRule.from_json(item) for item in data.get("faults", [])]
        with self._lock:
            self.rules = rules
            if "latency_s" in data:
                self.latency_s = float(data["latency_s"])
            if "video_seconds" in data:
                self.video_seconds = float(data["video_seconds"])

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "latency_s": self.latency_s,
                "video_seconds": self.video_seconds,
                "faults": [
                    {
                        "kind": rule.kind,
                        "times": rule.times,
                        "match": rule.match,
                        "delay_s": rule.delay_s,
                        "operation": rule.operation,
                        "echo_key": rule.echo_key,
                    }
                    for rule in self.rules
                ],
            }
