"""The offline engine's HTTP server: the slice of the Gemini REST API the studio uses.

It listens on loopback only. Routes are plain functions from an ``EngineRequest`` to an
``EngineResponse``; the image work behind them lives in ``services.offline.brain`` and
the video jobs in ``services.offline.video_jobs``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from services.offline.faults import FaultPlan

logger = logging.getLogger(__name__)

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


@dataclass
class EngineRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    match: re.Match[str] | None = None


@dataclass
class EngineResponse:
    status: int = 200
    body: Any = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    sse_events: list[dict[str, Any]] | None = None


def error_response(
    status: int, message: str, details: list[dict[str, Any]] | None = None
) -> EngineResponse:
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": STATUS_NAMES.get(status, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    return EngineResponse(status=status, body={"error": error})


Handler = Callable[["OfflineEngine", EngineRequest], EngineResponse]


class OfflineEngine:
    """State shared by every request: faults, latency, video jobs, a request log."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self.plan = plan or FaultPlan()
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.request_log: deque[dict[str, Any]] = deque(maxlen=10_000)
        self.state: dict[str, Any] = {}
        self.lock = threading.Lock()

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(pattern), handler))

    def dispatch(self, request: EngineRequest) -> EngineResponse:
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                request.match = match
                return handler(self, request)
        return error_response(404, f"No route for {request.method} {request.path}.")


def _build_engine(plan: FaultPlan | None) -> OfflineEngine:
    # Imported here so the server module stays importable on its own.
    from services.offline import brain, video_jobs

    engine = OfflineEngine(plan)
    brain.register(engine)
    video_jobs.register(engine)
    engine.route("GET", r"/atelier/faults", _get_faults)
    engine.route("POST", r"/atelier/faults", _set_faults)
    engine.route("GET", r"/atelier/requests", _get_requests)
    engine.route(
        "GET",
        r"/atelier/health",
        lambda engine, request: EngineResponse(body={"ok": True}),
    )
    return engine


def _get_faults(engine: OfflineEngine, request: EngineRequest) -> EngineResponse:
    return EngineResponse(body=engine.plan.to_json())


def _set_faults(engine: OfflineEngine, request: EngineRequest) -> EngineResponse:
    try:
        engine.plan.replace(request.body or {})
    except (KeyError, ValueError, TypeError) as exc:
        return error_response(400, f"Bad fault plan: {exc}")
    return EngineResponse(body=engine.plan.to_json())


def _get_requests(engine: OfflineEngine, request: EngineRequest) -> EngineResponse:
    return EngineResponse(body={"requests": list(engine.request_log)})


class _RequestHandler(BaseHTTPRequestHandler):
    server: _EngineHTTPServer
    protocol_version = "HTTP/1.1"

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            self._send(error_response(400, "The request body is not valid JSON."))
            return
        key = self.headers.get("x-goog-api-key") or ""
        engine = self.server.engine
        engine.request_log.append(
            {
                "method": method,
                "path": parts.path,
                "time": time.time(),
                "bytes": length,
                # A fingerprint lets tests check which key was used without storing it.
                "key_sha256": hashlib.sha256(key.encode()).hexdigest()[:16]
                if key
                else "",
            }
        )
        request = EngineRequest(
            method=method,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        try:
            response = engine.dispatch(request)
        except Exception as exc:  # the engine must answer, as a real server would
            logger.exception("offline engine failed on %s %s", method, parts.path)
            response = error_response(
                500, f"Offline engine error: {type(exc).__name__}"
            )
        self._send(response)

    def _send(self, response: EngineResponse) -> None:
        if response.sse_events is not None:
            payload = b"".join(
                b"data: " + json.dumps(event).encode() + b"\r\n\r\n"
                for event in response.sse_events
            )
            content_type = "text/event-stream"
        elif isinstance(response.body, (bytes, bytearray)):
            payload = bytes(response.body)
            content_type = response.content_type
        else:
            payload = json.dumps(
                response.body if response.body is not None else {}
            ).encode()
            content_type = "application/json; charset=utf-8"
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            logger.info("client went away before the answer was sent")

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches on
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("offline engine: " + format, *args)


class _EngineHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    engine: OfflineEngine


@dataclass
class RunningEngine:
    """An engine serving in a background thread of this process."""

    server: _EngineHTTPServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def engine(self) -> OfflineEngine:
        return self.server.engine

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_server(port: int = 0, plan: FaultPlan | None = None) -> _EngineHTTPServer:
    server = _EngineHTTPServer(("127.0.0.1", port), _RequestHandler)
    server.engine = _build_engine(plan)
    return server


def start_in_thread(port: int = 0, plan: FaultPlan | None = None) -> RunningEngine:
    """Start the engine on a free loopback port (or ``port``) in a daemon thread."""
    server = make_server(port, plan)
    thread = threading.Thread(
        target=server.serve_forever, name="offline-engine", daemon=True
    )
    thread.start()
    logger.info("offline engine listening on 127.0.0.1:%d", server.server_address[1])
    return RunningEngine(server, thread)
