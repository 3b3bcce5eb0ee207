"""Structured logs (text or JSON) carrying the request id, and one access line per request."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: ContextVar[str] = ContextVar("request_id", default="-")
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Fields every record has, and uvicorn's ANSI-coloured copy of the message: neither belongs in a JSON line.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id", "color_message"}
access_log = logging.getLogger("tusd_py.access")


_TOKEN_PARAM = re.compile(r"(token=)[^&\s\"']+")


class _RequestIdFilter(logging.Filter):
    """Adds the request id, and hides `?token=` credentials that access lines would otherwise show."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        message = record.getMessage()
        if "token=" in message:
            record.msg, record.args = _TOKEN_PARAM.sub(r"\1***", message), None
        return True


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str, log_format: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_RequestIdFilter())
    if log_format == "json":
        formatter: logging.Formatter = JSONFormatter()
        formatter.converter = time.gmtime
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    handler.setFormatter(formatter)
    for name in ("tusd_py", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(level.upper())


class RequestIdMiddleware:
    """Takes the client's X-Request-ID when it is sane (else makes one), echoes it, and logs the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        rid = given if _CLIENT_ID.fullmatch(given) else os.urandom(16).hex()
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            # A WebSocket's messages carry no status or headers to add: its sends go straight through.
            await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                self._log(scope, status, started)
            request_id.reset(token)

    @staticmethod
    def _log(scope: Scope, status: int, started: float) -> None:
        method, path = scope.get("method", "WEBSOCKET"), scope.get("path", "")
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        access_log.info(
            "%s %s %s",
            method,
            path,
            status or "-",
            extra={"method": method, "path": path, "status": status, "duration_ms": duration_ms},
        )
