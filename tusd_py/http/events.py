"""Live events over WebSocket and Server-Sent Events: per upload, per batch, and multiplexed."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tusd_py.auth.principal import Principal, authorize, principal_of
from tusd_py.events.batches import batch_topic
from tusd_py.events.bus import EventBus, Subscriber
from tusd_py.events.connections import ConnectionManager
from tusd_py.events.models import CompletedEvent, Event, FailedEvent, ProcessedEvent, utc_timestamp
from tusd_py.events.publisher import EventPublisher, percentage
from tusd_py.events.streams import StreamFollower
from tusd_py.http.direct_frames import EventFrames, frame_writer_of
from tusd_py.protocol.errors import TusError, upload_not_found
from tusd_py.protocol.ids import is_valid_upload_id
from tusd_py.protocol.info import UploadInfo
from tusd_py.protocol.representation import filename
from tusd_py.uploads.service import UploadService

KEEPALIVE_SECONDS = 15.0
MAX_SUBSCRIPTIONS = 1000
CLOSE_NOT_FOUND = 4404
CLOSE_SERVER_ERROR = 1011


def owner_of(connection: Request | WebSocket) -> str | None:
    """The authenticated owner (None without auth)."""
    principal = principal_of(connection)
    return principal.owner if principal is not None else None


def batch_owner(principal: Principal | None, asked: object) -> str | None:
    """Whose batch a name means: the caller's own; an admin may name another owner's (`?owner=`, or `owner` in a
    subscribe message)."""
    own = principal.owner if principal is not None else None
    if asked is None or asked == own:
        return own
    if principal is None or not principal.admin or not isinstance(asked, str):
        raise TusError(403, "forbidden", "only an admin may name another owner's batch", {"owner": str(asked)[:200]})
    return asked


def _since(connection: Request | WebSocket) -> int | None:
    text = connection.headers.get("last-event-id") or connection.query_params.get("since")
    if text is None or text == "":
        return None
    if not text.isdigit() or len(text) > 20:
        raise TusError(400, "invalid_since", "since / Last-Event-ID must be the seq of an event", {"since": text[:30]})
    return int(text)


@dataclass(frozen=True)
class StreamSource:
    """What one stream follows: its bus topics, the stream whose `seq` it resumes from, what it starts with."""

    topics: list[str]
    stream_key: str | None  # None: several streams (multiplexed), resumed each by its own `seq`
    backlog: Callable[[int | None], Awaitable[list[Event]]]


def sse_frame(event: Event) -> bytes:
    return f"id: {event.seq}\nevent: {event.type.value}\ndata: {event.to_json()}\n\n".encode()


class EventRoutes:
    def __init__(
        self,
        service: UploadService,
        bus: EventBus,
        publisher: EventPublisher,
        connections: ConnectionManager,
        follower: StreamFollower,
        base_path: str,
    ) -> None:
        self.service = service
        self.bus = bus
        self.publisher = publisher
        self.connections = connections
        self.follower = follower
        self.base_path = base_path
        self.frames = EventFrames()

    def routes(self) -> list[BaseRoute]:
        base = self.base_path
        return [
            Route(base + "events", self.sse_multiplexed, methods=["GET"]),
            WebSocketRoute(base + "events", self.ws_multiplexed),
            Route(base + "batches/{batch}", self.batch_summary, methods=["GET"]),
            Route(base + "batches/{batch}/events", self.sse_batch, methods=["GET"]),
            WebSocketRoute(base + "batches/{batch}/events", self.ws_batch),
            Route(base + "{upload_id}/events", self.sse_upload, methods=["GET"]),
            WebSocketRoute(base + "{upload_id}/events", self.ws_upload),
        ]

    # -- what a stream starts with ---------------------------------------------------------------------

    async def _upload_backlog(self, upload_id: str, since: int | None, principal: Principal | None) -> list[Event]:
        """404 for an unknown upload, 403 for someone else's; otherwise the events to send before the live ones."""
        if not is_valid_upload_id(upload_id):
            raise upload_not_found(upload_id)
        stream = f"upload:{upload_id}"
        backlog = await self.follower.backlog(stream, since)
        if backlog:
            authorize(backlog[-1].owner, principal, upload_id)
        try:
            info = await self.service.load(upload_id, principal)
        except TusError as error:
            if error.status == 410 and backlog:
                return backlog  # it ended while the client was away: the backlog holds the end
            raise
        if not backlog and info.is_complete and not info.completion_pending:
            latest = await self.bus.latest(stream) if since is not None else None
            if latest is not None:
                return [latest]  # nothing missed: the client saw it (its seq is at most `since`); it may end the stream
            # Nothing in history to start from (none kept, or lost in a restart): say where the upload stands,
            # numbered after everything before it, so a finished stream still ends, with since as without.
            backlog = [_where_it_stands(info, await self.bus.next_seq(stream))]
        return backlog

    async def _batch_backlog(
        self, batch: str, since: int | None, owner: str | None, *, wait: bool = False
    ) -> list[Event]:
        """With `wait`, a batch with no upload yet is followed all the same: its first file's events will come."""
        state = await self.publisher.batch_state(batch, owner)
        if not state.files and not wait:
            raise TusError(404, "batch_not_found", "no upload belongs to this batch", {"batch": batch[:200]})
        return await self.follower.backlog(batch_topic(owner, batch), since)

    # -- per-upload and per-batch streams ----------------------------------------------------------------

    def _upload_source(self, connection: Request | WebSocket) -> StreamSource:
        upload_id, principal = connection.path_params["upload_id"], principal_of(connection)
        stream = f"upload:{upload_id}"
        return StreamSource([stream], stream, lambda since: self._upload_backlog(upload_id, since, principal))

    def _batch_source(self, connection: Request | WebSocket) -> StreamSource:
        batch = connection.path_params["batch"]
        owner = batch_owner(principal_of(connection), connection.query_params.get("owner"))
        topic = batch_topic(owner, batch)
        wait = connection.query_params.get("wait") != "0"  # ?wait=0: 404 at once while the batch is empty
        return StreamSource([topic], topic, lambda since: self._batch_backlog(batch, since, owner, wait=wait))

    async def ws_upload(self, websocket: WebSocket) -> None:
        await self._ws_stream(websocket, self._upload_source(websocket))

    async def ws_batch(self, websocket: WebSocket) -> None:
        try:
            source = self._batch_source(websocket)
        except TusError as error:  # naming another owner's batch without being an admin
            await websocket.accept()
            await _refuse_stream(websocket, error)
            return
        await self._ws_stream(websocket, source)

    async def sse_upload(self, request: Request) -> Response:
        return await self._sse_stream(request, self._upload_source(request))

    async def sse_batch(self, request: Request) -> Response:
        return await self._sse_stream(request, self._batch_source(request))

    async def batch_summary(self, request: Request) -> Response:
        batch = request.path_params["batch"]
        owner = batch_owner(principal_of(request), request.query_params.get("owner"))
        state = await self.publisher.batch_state(batch, owner)
        if not state.files:
            raise TusError(404, "batch_not_found", "no upload belongs to this batch", {"batch": batch[:200]})
        return JSONResponse(state.summary())

    async def _ws_stream(self, websocket: WebSocket, source: StreamSource) -> None:
        owner = owner_of(websocket)
        await websocket.accept()
        refusal = self.connections.admit(owner)
        if refusal is not None:
            await websocket.close(refusal.close_code, refusal.reason)
            return
        subscriber = self.connections.open(owner, source.topics)
        try:
            try:
                since = _since(websocket)
                backlog = await source.backlog(since)
            except TusError as error:
                await _refuse_stream(websocket, error)
                return
            events = self.follower.follow(
                subscriber, source.stream_key, backlog, since=since, send_now=self._send_now(websocket)
            )
            sender = asyncio.ensure_future(self._send_all(websocket, events))
            receiver = asyncio.ensure_future(_drain(websocket))
            done, _ = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
            for task in (sender, receiver):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                    await task
            if sender in done and sender.exception() is None:
                code, reason = (1012, "server restarting") if subscriber.closed else (1000, "stream ended")
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                    await websocket.close(code, reason)
        finally:
            self.connections.close(subscriber)

    def _send_now(self, websocket: WebSocket) -> Callable[[Event], bool] | None:
        """Under `tusd-py serve`: a function that writes an event's frame to this socket at once (direct_frames)."""
        write = frame_writer_of(websocket.scope)
        return self.frames.sender(write) if write is not None else None

    async def _send_all(self, websocket: WebSocket, events: AsyncIterator[Event]) -> None:
        async for event in events:
            await websocket.send_text(event.to_json())
            self.frames.queued += 1

    async def _sse_stream(self, request: Request, source: StreamSource) -> Response:
        owner = owner_of(request)
        refusal = self.connections.admit(owner)
        if refusal is not None:
            raise refusal.as_error()
        since = _since(request)
        subscriber = self.connections.open(owner, source.topics)
        try:
            backlog = await source.backlog(since)
        except BaseException:
            self.connections.close(subscriber)
            raise
        return StreamingResponse(
            self._sse_body(subscriber, source.stream_key, backlog, since),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def _sse_body(
        self, subscriber: Subscriber, stream_key: str | None, backlog: list[Event], since: int | None
    ) -> AsyncIterator[bytes]:
        try:
            yield b"retry: 2000\n\n"
            events = self.follower.follow(subscriber, stream_key, backlog, since=since)
            upcoming = asyncio.ensure_future(anext(events))
            try:
                while True:
                    # Wait without cancelling: a cancelled anext() would close the event generator.
                    done, _ = await asyncio.wait({upcoming}, timeout=KEEPALIVE_SECONDS)
                    if not done:
                        yield b": keep-alive\n\n"
                        continue
                    try:
                        event = upcoming.result()
                    except StopAsyncIteration:
                        return
                    yield sse_frame(event)
                    upcoming = asyncio.ensure_future(anext(events))
            finally:
                upcoming.cancel()
        finally:
            self.connections.close(subscriber)

    # -- the multiplexed stream ----------------------------------------------------------------------

    async def sse_multiplexed(self, request: Request) -> Response:
        owner = owner_of(request)
        uploads = [u for u in request.query_params.getlist("upload_id") if u]
        batches = [b for b in request.query_params.getlist("batch") if b]
        if len(uploads) + len(batches) > MAX_SUBSCRIPTIONS:
            raise TusError(400, "too_many_subscriptions", f"at most {MAX_SUBSCRIPTIONS} filters")
        for upload_id in uploads:
            await self._check_upload(upload_id, principal_of(request))
        topics = [f"upload:{u}" for u in uploads] + [batch_topic(owner, b) for b in batches]
        if not topics:
            topics = [f"owner:{owner}"] if owner is not None else ["all"]

        principal = principal_of(request)

        async def backlog(since: int | None) -> list[Event]:
            """With Last-Event-ID: what each named upload or batch stream published after it, in order."""
            if since is None:
                return []
            missed = [e for u in uploads for e in await self._upload_backlog(u, since, principal)]
            missed += [e for b in batches for e in await self._batch_backlog(b, since, owner)]
            return sorted({(e.stream_key, e.seq): e for e in missed if e.seq > since}.values(), key=lambda e: e.seq)

        return await self._sse_stream(request, StreamSource(topics, None, backlog))

    async def _check_upload(self, upload_id: str, principal: Principal | None) -> None:
        if not is_valid_upload_id(upload_id):
            raise upload_not_found(upload_id)
        await self.service.load(upload_id, principal)

    async def ws_multiplexed(self, websocket: WebSocket) -> None:
        owner = owner_of(websocket)
        await websocket.accept()
        refusal = self.connections.admit(owner)
        if refusal is not None:
            await websocket.close(refusal.close_code, refusal.reason)
            return
        subscriber = self.connections.open(owner, [])
        principal = principal_of(websocket)
        send_lock = asyncio.Lock()

        async def send(message: dict[str, Any] | Event) -> None:
            async with send_lock:
                await websocket.send_text(message.to_json() if isinstance(message, Event) else json.dumps(message))

        async def pump() -> None:
            async for event in self.follower.follow(subscriber, None, send_now=self._send_now(websocket)):
                await send(event)
                self.frames.queued += 1

        async def answer() -> None:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is None:
                    await send(_error("invalid_message", "messages are JSON text frames, not binary"))
                    continue
                reply = await self._command(subscriber, text, principal)
                if reply is not None:
                    await send(reply)

        sender, receiver = asyncio.ensure_future(pump()), asyncio.ensure_future(answer())
        try:
            await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, receiver):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                    await task
            self.connections.close(subscriber)
        if sender.done() and not sender.cancelled() and sender.exception() is None:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.close(1012, "server restarting")

    async def _command(self, subscriber: Subscriber, text: str, principal: Principal | None) -> dict[str, Any] | None:
        """One client message of the multiplexed socket; every answer is a JSON object with a `type`."""
        try:
            message = json.loads(text)
            if not isinstance(message, dict):
                raise ValueError
        except ValueError:
            return _error("invalid_message", "messages are JSON objects with an action")
        action = message.get("action")
        if action == "ping":
            return {"type": "pong", "timestamp": utc_timestamp(self.service.clock())}
        if action == "get_stats":
            return {"type": "stats", **self.connections.stats(subscriber)}
        if action in ("subscribe", "unsubscribe"):
            try:
                return await self._subscription(subscriber, action, message, principal)
            except TusError as error:
                return {"type": "error", **error.body()}
        return _error("unknown_action", "action must be subscribe, unsubscribe, ping or get_stats")

    async def _subscription(
        self, subscriber: Subscriber, action: str, message: dict[str, Any], principal: Principal | None
    ) -> dict[str, Any]:
        upload_id, batch = message.get("upload_id"), message.get("batch")
        if not isinstance(upload_id, str) and not isinstance(batch, str):
            raise TusError(400, "invalid_subscription", "name an upload_id or a batch")
        owner = batch_owner(principal, message.get("owner")) if isinstance(batch, str) else None
        topic = f"upload:{upload_id}" if isinstance(upload_id, str) else batch_topic(owner, str(batch))
        target = {"upload_id": upload_id} if isinstance(upload_id, str) else {"batch": batch}
        if action == "unsubscribe":
            self.bus.retopic(subscriber, subscriber.topics - {topic})
            return {"type": "unsubscribed", **target}
        if len(subscriber.topics) >= MAX_SUBSCRIPTIONS:
            raise TusError(400, "too_many_subscriptions", f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection")
        since = message.get("since")
        if since is not None and (not isinstance(since, int) or since < 0):
            raise TusError(400, "invalid_since", "since must be the seq of an event")
        if isinstance(upload_id, str):
            await self._check_upload(upload_id, principal)
        # Subscribe before reading the history, so nothing published in between is missed; duplicates
        # between the two are dropped by seq when sent.
        self.bus.retopic(subscriber, subscriber.topics | {topic})
        if since is not None:
            if isinstance(upload_id, str):
                missed = await self._upload_backlog(upload_id, since, principal)
            else:
                missed = await self._batch_backlog(str(batch), since, owner)
            subscriber.prepend([event for event in missed if event.seq > since])  # none the client saw again
        return {"type": "subscribed", **target}


async def _refuse_stream(websocket: WebSocket, error: TusError) -> None:
    """An accepted event socket that cannot follow what it asked for: the error as a message, then the close,
    with 4000 + the status as every refusal (an unknown or gone upload alike: 4404), 1011 for a server failure."""
    if error.status in (404, 410):
        code = CLOSE_NOT_FOUND
    else:
        code = CLOSE_SERVER_ERROR if error.status >= 500 else 4000 + error.status
    await websocket.send_text(json.dumps({"type": "error", **error.body()}))
    await websocket.close(code, error.message[:120])


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error_code": code, "error_message": message, "details": {}}


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a disconnect is noticed at once."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


def _where_it_stands(info: UploadInfo, seq: int) -> Event:
    """A finished upload's state as an event, from its info: processed or failed by the pipeline, else completed."""
    state = info.processing or {}
    common: dict[str, Any] = dict(
        upload_id=info.id,
        seq=seq,
        timestamp=utc_timestamp(info.completed_at or info.updated_at),
        offset=info.offset,
        length=info.size,
        percentage=percentage(info.offset, info.size),
        filename=filename(info.metadata),
        owner=info.owner,
    )
    if state.get("status") == "processed":
        return ProcessedEvent(
            **common, status="processed", message="processing finished", result=state.get("result") or {}
        )
    if state.get("status") == "failed":
        return FailedEvent(
            **common,
            status="failed",
            message=f"stage {state.get('stage')} failed",
            stage=state.get("stage"),
            error_code=state.get("error_code", "failed"),
            error_message=state.get("error_message", ""),
        )
    return CompletedEvent(**common, status="completed", message="upload complete")
