"""Firing hooks: blocking ones decide the request's answer, the others are delivered in the background."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from tusd_py.hooks.handlers import HookHandler
from tusd_py.hooks.models import HookFailed, HookRequest, HookResponse, HookType, RequestOrigin
from tusd_py.protocol.errors import TusError
from tusd_py.protocol.info import UploadInfo

log = logging.getLogger("tusd_py.hooks")

MAX_PENDING = 1000  # background deliveries waiting at once; beyond it they are dropped with a warning
# Background deliveries under way at once. More wait their turn (their hook timeout starts with their turn), so a
# storm of post-receive hooks never takes every connection to the endpoint from the blocking hooks (pre-create,
# pre-finish, pre-terminate) that requests are waiting for.
MAX_DELIVERING = 32
DROP_LOG_SECONDS = 10.0  # dropped deliveries are logged at most this often, with how many
MAX_THROTTLED = 10_000
CLOSE_WAIT_SECONDS = 5.0


# The server frames its own answers (and its body is its own JSON): a hook's word on these would corrupt them.
FRAMING_HEADERS = frozenset(
    {"content-length", "content-type", "transfer-encoding", "connection", "keep-alive", "te", "trailer", "upgrade"}
)


def passable_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers of a hook's HTTPResponse that may be added to the server's answer."""
    return {name: value for name, value in headers.items() if name.lower() not in FRAMING_HEADERS}


def hook_failed(hook: HookType, error: Exception) -> TusError:
    return TusError(502, "hook_failed", f"the {hook} hook failed: {error}", {"hook": hook.value})


def hook_refusal(
    hook: HookType, response: HookResponse, code: str, default_message: str, default_status: int = 400
) -> TusError:
    """A rejection in our error shape, carrying what the hook said: its status, its message, its headers."""
    answer = response.http_response
    body: Any = answer.body
    message = default_message
    if body:
        try:
            body = json.loads(body)
        except json.JSONDecodeError:
            message = str(body)[:500]
        if isinstance(body, dict):
            said = body.get("message") or body.get("error_message")
            message = said if isinstance(said, str) and said else message
    details: dict[str, Any] = {"hook": hook.value}
    if body:
        details["hook_response"] = body
    status = answer.status_code if answer.status_code and answer.status_code >= 400 else default_status
    return TusError(status, code, message, details, headers=passable_headers(answer.headers))


class Hooks:
    def __init__(
        self,
        handlers: Sequence[HookHandler],
        *,
        progress_interval: float = 1.0,
        storage_of: Callable[[UploadInfo], dict[str, str]] | None = None,
    ) -> None:
        self.handlers = list(handlers)
        self.progress_interval = progress_interval
        self.storage_of = storage_of
        self._pending: set[asyncio.Task[None]] = set()
        self._delivering = asyncio.Semaphore(MAX_DELIVERING)
        self._dropped = 0
        self._dropped_logged_at = -DROP_LOG_SECONDS
        self._last_received: OrderedDict[str, tuple[float, int]] = OrderedDict()  # when, and which offset

    def wants(self, hook: HookType) -> bool:
        return any(handler.handles(hook) for handler in self.handlers)

    def _request(self, hook: HookType, info: UploadInfo, origin: RequestOrigin | None) -> HookRequest:
        storage = self.storage_of(info) if self.storage_of is not None and hook is not HookType.PRE_CREATE else {}
        return HookRequest(hook, info, origin, storage)

    async def decide(self, hook: HookType, info: UploadInfo, origin: RequestOrigin | None) -> HookResponse:
        """Run a blocking hook. Its failure refuses the request (502 hook_failed); its answer is returned."""
        responses: list[HookResponse] = []
        for handler in self.handlers:
            if not handler.handles(hook):
                continue
            try:
                response = await handler(self._request(hook, info, origin))
            except TusError:
                raise  # a Python hook refusing in our own terms
            except HookFailed as error:
                log.warning("%s hook failed for %s: %s", hook, info.id or "a new upload", error)
                raise hook_failed(hook, error) from None
            except Exception as error:
                log.exception("%s hook raised for %s", hook, info.id or "a new upload")
                raise hook_failed(hook, error) from None
            responses.append(response)
        merged = _merge(responses)
        if origin is not None:
            _shape_answer(origin, merged)
        return merged

    def notify(
        self,
        hook: HookType,
        info: UploadInfo,
        origin: RequestOrigin | None,
        on_answer: Callable[[HookResponse], None] | None = None,
    ) -> None:
        """Deliver a non-blocking hook in the background: it never fails or slows the request."""
        if not self.wants(hook):
            return
        if len(self._pending) >= MAX_PENDING:
            self._drop(hook, info)
            return
        request = self._request(hook, _snapshot(info), origin)
        task = asyncio.get_running_loop().create_task(self._deliver(request, on_answer))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def received(
        self,
        info: UploadInfo,
        origin: RequestOrigin | None,
        on_answer: Callable[[HookResponse], None],
        *,
        request_ended: bool = False,
    ) -> None:
        """post-receive, at most once per `progress_interval` per upload while bytes arrive; when a request
        ends, once more if its last offset was not told yet (as tusd does), so the last word is never lost."""
        now = time.monotonic()
        last = self._last_received.get(info.id)
        if last is not None:
            told_at, told_offset = last
            if info.offset == told_offset or (not request_ended and now - told_at < self.progress_interval):
                return
        self._last_received[info.id] = (now, info.offset)
        self._last_received.move_to_end(info.id)
        if len(self._last_received) > MAX_THROTTLED:
            self._last_received.popitem(last=False)
        self.notify(HookType.POST_RECEIVE, info, origin, on_answer)

    def _drop(self, hook: HookType, info: UploadInfo) -> None:
        """One line per DROP_LOG_SECONDS however many are dropped: an endpoint too slow for the load must not
        also flood the log."""
        self._dropped += 1
        now = time.monotonic()
        if now - self._dropped_logged_at >= DROP_LOG_SECONDS:
            log.warning(
                "%s hook for %s dropped: %d deliveries already pending (%d dropped since the last such line)",
                hook,
                info.id,
                len(self._pending),
                self._dropped,
            )
            self._dropped_logged_at = now
            self._dropped = 0

    async def _deliver(self, request: HookRequest, on_answer: Callable[[HookResponse], None] | None) -> None:
        async with self._delivering:
            await self._deliver_now(request, on_answer)

    async def _deliver_now(self, request: HookRequest, on_answer: Callable[[HookResponse], None] | None) -> None:
        for handler in self.handlers:
            if not handler.handles(request.type):
                continue
            try:
                response = await handler(request)
            except Exception as error:  # a post-* hook never fails the upload: it is logged
                log.warning("%s hook failed for %s: %s", request.type, request.upload.id, error)
                continue
            if on_answer is not None:
                on_answer(response)

    async def close(self) -> None:
        """Let pending deliveries finish for a moment, then cancel what is left."""
        if self._pending:
            _, late = await asyncio.wait(set(self._pending), timeout=CLOSE_WAIT_SECONDS)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        for handler in self.handlers:
            close = getattr(handler, "close", None)
            if close is not None:
                await close()


def _shape_answer(origin: RequestOrigin, response: HookResponse) -> None:
    """What a blocking hook said of the answer, kept for it (tusd merges the hook's HTTPResponse into its own)."""
    answer = response.http_response
    origin.response_headers.update(passable_headers(answer.headers))
    if answer.status_code is not None:
        origin.response_status = answer.status_code
    if answer.body:
        origin.response_body = answer.body
        content_type = next((v for k, v in answer.headers.items() if k.lower() == "content-type"), None)
        origin.response_media_type = content_type or origin.response_media_type


def _merge(responses: list[HookResponse]) -> HookResponse:
    """Several handlers answered one hook: any refusal wins (with its answer), headers and changes add up."""
    if not responses:
        return HookResponse()
    deciding = next((r for r in responses if r.reject_upload or r.reject_termination or r.stop_upload), responses[-1])
    headers: dict[str, str] = {}
    for response in responses:
        headers.update(response.http_response.headers)
    changes = [r.change_file_info for r in responses if r.change_file_info is not None]
    return HookResponse(
        http_response=replace(deciding.http_response, headers=headers),
        reject_upload=any(r.reject_upload for r in responses),
        reject_termination=any(r.reject_termination for r in responses),
        stop_upload=any(r.stop_upload for r in responses),
        change_file_info=changes[-1] if changes else None,
    )


def _snapshot(info: UploadInfo) -> UploadInfo:
    """Background deliveries see the upload as it was when the hook fired, not as it is when it is sent."""
    return replace(info, metadata=dict(info.metadata))
