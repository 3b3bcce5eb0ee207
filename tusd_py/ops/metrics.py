"""Prometheus metrics: requests, errors, bytes, upload lifecycle and open connections."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tusd_py.http.direct_frames import EventFrames
from tusd_py.protocol.info import UploadInfo
from tusd_py.storage.sendfile import SENDERS
from tusd_py.storage.splice import SPLICERS

ERROR_SCOPE_KEY = "tusd_py.error"  # (status, error_code) left in the scope by the error handlers


class Metrics:
    """One registry per app, so several apps in one process keep separate figures."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "tusd_py_requests", "HTTP requests by method and status", ["method", "status"], registry=r
        )
        self.errors = Counter(
            "tusd_py_errors", "Error responses by status and error code", ["status", "code"], registry=r
        )
        self.bytes_received = Counter("tusd_py_bytes_received", "Upload bytes stored", registry=r)
        self.uploads_created = Counter("tusd_py_uploads_created", "Uploads created", registry=r)
        self.uploads_finished = Counter("tusd_py_uploads_finished", "Uploads completed", registry=r)
        self.uploads_terminated = Counter("tusd_py_uploads_terminated", "Uploads terminated by a client", registry=r)
        self.uploads_expired = Counter("tusd_py_uploads_expired", "Uploads removed on expiry or retention", registry=r)
        self.open_connections = Gauge(
            "tusd_py_open_connections", "HTTP requests and WebSockets in progress", registry=r
        )
        r.register(_KernelBytes())
        self._by_kind = {
            "created": self.uploads_created,
            "completed": self.uploads_finished,
            "terminated": self.uploads_terminated,
            "expired": self.uploads_expired,
        }

    def __call__(self, kind: str, info: UploadInfo, received: int) -> None:
        """The upload service's listener."""
        if kind == "received":
            self.bytes_received.inc(received)
        elif kind in self._by_kind:
            self._by_kind[kind].inc()

    def count_event_messages(self, frames: EventFrames) -> None:
        self.registry.register(_EventMessages(frames))

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class _KernelBytes(Collector):
    """Bytes the kernel moved between sockets and files, the whole process's count: uploads from the socket
    into the file (storage/splice.py) and downloads from the file to the socket (storage/sendfile.py)."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "tusd_py_bytes_spliced",
            "Upload bytes moved from the socket into the file in the kernel (all apps of this process)",
            value=SPLICERS.bytes_moved,
        )
        yield CounterMetricFamily(
            "tusd_py_bytes_sendfile",
            "Download bytes sent from the file to the socket in the kernel (all apps of this process)",
            value=SENDERS.bytes_moved,
        )


class _EventMessages(Collector):
    """Event messages sent to WebSocket subscribers, by the way they went out (http/direct_frames.py)."""

    def __init__(self, frames: EventFrames) -> None:
        self.frames = frames

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "tusd_py_event_messages_sent",
            "WebSocket event messages sent: framed once and written by the publisher (direct), or sent by the"
            " stream's own task (queued)",
            labels=["path"],
        )
        family.add_metric(["direct"], self.frames.written)
        family.add_metric(["queued"], self.frames.queued)
        yield family


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        status = 0

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.open_connections.inc()
        try:
            await self.app(scope, receive, send_observed if scope["type"] == "http" else send)
        except Exception:
            status = 500
            scope.setdefault(ERROR_SCOPE_KEY, (500, "internal_error"))
            raise
        finally:
            self.metrics.open_connections.dec()
            if scope["type"] == "http":
                self.metrics.requests.labels(scope["method"], str(status)).inc()
                error = scope.get(ERROR_SCOPE_KEY)
                if error is not None:
                    self.metrics.errors.labels(str(error[0]), error[1]).inc()
