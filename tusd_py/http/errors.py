"""Every failure becomes a JSON error body with the right status; no traceback ever reaches a client."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from tusd_py.ops.metrics import ERROR_SCOPE_KEY
from tusd_py.protocol.constants import TUS_VERSION
from tusd_py.protocol.errors import TusError, out_of_space

log = logging.getLogger("tusd_py.http")


def error_response(error: TusError, request: Request | None = None) -> Response:
    if request is not None:
        request.scope[ERROR_SCOPE_KEY] = (error.status, error.code)
    # Set here too: a 500 is answered outside the middleware that adds it to every other response.
    headers = {"Tus-Resumable": TUS_VERSION, **error.headers}
    if request is not None and request.method == "HEAD":
        # A HEAD answer carries no body; the status and headers say it all.
        return Response(status_code=error.status, headers={**headers, "Content-Type": "application/json"})
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


async def refuse(error: TusError, scope: Scope, receive: Receive, send: Send) -> None:
    """A middleware's refusal: the error response, or for a WebSocket a close with 4000 + the status."""
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 4000 + error.status, "reason": error.message[:120]})
        return
    await error_response(error, Request(scope))(scope, receive, send)


async def handle_tus_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TusError)
    if exc.status >= 500:
        # 503s are expected (shutdown, Redis away) and say so; other 5xx are the server's own failures.
        level = logging.WARNING if exc.status == 503 else logging.ERROR
        log.log(level, "%s %s -> %d %s", request.method, request.url.path, exc.status, exc.code)
    return error_response(exc, request)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    error = TusError(
        exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail), headers=dict(exc.headers or {})
    )
    return error_response(error, request)


async def handle_redis_error(request: Request, exc: Exception) -> Response | None:
    """For redis.exceptions.RedisError, registered when the app uses Redis."""
    log.warning("Redis unavailable during %s: %s", request.url.path, exc)
    if isinstance(request, WebSocket):  # Starlette hands WebSocket errors to the same handlers
        await request.close(1011, "shared state unreachable")
        return None
    error = TusError(
        503, "redis_unavailable", "shared state is unreachable right now; retry shortly", headers={"Retry-After": "2"}
    )
    return error_response(error, request)


def unexpected_error(exc: Exception) -> TusError:
    """What a client is told of a failure that is not its own: a full disk, or a bug (logged with its traceback)."""
    return out_of_space(exc) or TusError(
        500, "internal_error", "the server failed to handle this request; it has been logged"
    )


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    error = unexpected_error(exc)
    if error.status == 507:  # expected while the disk is full: one line each, not a traceback each
        log.warning("%s %s -> 507 insufficient_storage: %s", request.method, request.url.path, exc)
    else:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(error, request)


async def handle_os_error(request: Request, exc: Exception) -> Response | None:
    """OSError (a full disk above all) answered inside the app, as handle_unexpected would: what reaches Starlette's
    catch-all `Exception` handler is re-raised to the server after the answer, which logs a traceback for it and
    leaves the access line without a status."""
    if isinstance(request, WebSocket):  # Starlette hands WebSocket errors to the same handlers
        log.warning("%s failed in storage: %s", request.url.path, exc)
        await request.close(1011, "storage failed")
        return None
    return await handle_unexpected(request, exc)


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    TusError: handle_tus_error,
    HTTPException: handle_http_exception,
    OSError: handle_os_error,
    Exception: handle_unexpected,
}
