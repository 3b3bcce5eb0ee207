"""Uploads over a WebSocket (`B upload`): a create or resume message, then binary frames, acknowledged as stored.

Every append goes through UploadService.append, as a PATCH does: the same lock, store, checksum, hooks and
events. docs/websocket-upload.md describes the messages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from tusd_py.auth.principal import principal_of
from tusd_py.events.bus import EventBus, Subscriber, SubscriberClosed
from tusd_py.events.models import Event, EventType, utc_timestamp
from tusd_py.events.progress import ProgressMeter
from tusd_py.http.errors import unexpected_error
from tusd_py.http.origin import origin_of
from tusd_py.http.urls import PublicURLs
from tusd_py.http.ws_frames import Disconnected, FrameBody, FrameReader
from tusd_py.protocol.checksum import Checksum
from tusd_py.protocol.errors import TusError
from tusd_py.protocol.info import UploadInfo
from tusd_py.protocol.patch import AppendRequest
from tusd_py.protocol.representation import content_type, filename
from tusd_py.protocol.ws_upload import (
    ClientMessage,
    Create,
    DeclareLength,
    Ping,
    Resume,
    Segment,
    creation_request,
    error_message,
    invalid,
    parse_client_message,
    progress_message,
    status_message,
    success_message,
)
from tusd_py.settings import Settings
from tusd_py.storage.base import StoresInParts
from tusd_py.uploads.service import UploadService

log = logging.getLogger("tusd_py.http")
CLOSE_SERVER_RESTARTING = 1012
CLOSE_SERVER_ERROR = 1011


def close_code_for(error: TusError) -> int:
    """4000 + the HTTP status for a refusal (4403, 4413, 4460 …), as the event sockets do; 1012 on shutdown."""
    if error.code == "server_shutting_down":
        return CLOSE_SERVER_RESTARTING
    return 4000 + error.status if error.status < 500 else CLOSE_SERVER_ERROR


class WebSocketUploads:
    """The route, and the sessions open on it (so a shutdown can end the idle ones too)."""

    def __init__(self, service: UploadService, bus: EventBus, urls: PublicURLs, settings: Settings) -> None:
        self.service = service
        self.bus = bus
        self.urls = urls
        self.settings = settings
        self.sessions: set[UploadSession] = set()

    def routes(self) -> list[WebSocketRoute]:
        return [WebSocketRoute(self.settings.base_path + "upload", self.endpoint)]

    async def endpoint(self, websocket: WebSocket) -> None:
        await websocket.accept()
        session = UploadSession(self, websocket)
        self.sessions.add(session)
        try:
            await session.run()
        finally:
            self.sessions.discard(session)

    def interrupt(self) -> None:
        """Shutdown: sessions waiting for the client end now (appends in progress are ended by the service)."""
        for session in list(self.sessions):
            session.interrupted.set()


def acknowledgement_window(configured: int, store: object) -> int:
    """The window a client is told: the configured one, grown to what a store that confirms whole parts needs
    (otherwise the client would wait for a confirmation that waits for its next bytes)."""
    if isinstance(store, StoresInParts):
        return max(configured, store.unconfirmed_bytes())
    return configured


class UploadSession:
    """One socket, one upload."""

    def __init__(self, uploads: WebSocketUploads, websocket: WebSocket) -> None:
        self.uploads = uploads
        self.service = uploads.service
        self.settings = uploads.settings
        self.websocket = websocket
        self.window = acknowledgement_window(self.settings.ws_upload_window, self.service.store)
        self.principal = principal_of(websocket)
        self.origin = origin_of(websocket)
        self.reader = FrameReader(websocket.receive, max_frame_size=self.settings.ws_max_message_size)
        self.interrupted = asyncio.Event()
        self.info: UploadInfo | None = None
        self.meter = ProgressMeter()
        self._send_lock = asyncio.Lock()
        self._stored = 0  # what storage holds, as last heard
        self._acknowledged = -1  # what the client was last told
        self._ack_wanted = asyncio.Event()
        self._pipeline_events: Subscriber | None = None

    # -- the session's course --------------------------------------------------------------------------

    async def run(self) -> None:
        acks = asyncio.ensure_future(self._acknowledge_forever())
        try:
            await self._send(
                status_message(
                    "connected",
                    "send a create or a resume message",
                    window=self.window,
                    max_frame_size=self.settings.ws_max_message_size,
                )
            )
            info = await self._open()
            info = await self._receive_until_complete(info)
            await self._acknowledge()
            await self._send(status_message("completed", "upload complete", **self._where(info)))
            await self._finish(info)
            await self._close(1000, "upload complete")
        except TusError as error:
            await self._fail(error)
        except (Disconnected, WebSocketDisconnect):
            pass
        except OSError as error:  # storage failed (a full disk, a lost mount): say so, keep what was stored
            told = unexpected_error(error)
            if told.status == 507:  # expected while the disk is full: one line, not a traceback
                log.warning("WebSocket upload: 507 insufficient_storage: %s", error)
            else:
                log.exception("WebSocket upload failed in storage")
            await self._fail(told)
        finally:
            acks.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await acks
            if self._pipeline_events is not None:
                self.uploads.bus.unsubscribe(self._pipeline_events)

    async def _open(self) -> UploadInfo:
        message = await self._next_message()
        if isinstance(message, Create):
            info = await self._create(message)
            status = "created"
        elif isinstance(message, Resume):
            info = await self.service.head(message.upload_id, self.principal)
            status = "resumed"
        else:
            raise invalid("the first message is create or resume")
        self.info = info
        self._stored = info.offset
        if self.service.pipeline is not None:
            # Before the last byte: the pipeline's events for this upload must not be missed.
            self._pipeline_events = self.uploads.bus.subscribe([f"upload:{info.id}"], owner=info.owner)
        await self._send(
            status_message(
                status,
                f"upload {info.id} {status}; send bytes from offset {info.offset}",
                **self._where(info),
                window=self.window,
                max_frame_size=self.settings.ws_max_message_size,
            )
        )
        self._acknowledged = info.offset
        return info

    async def _create(self, message: Create) -> UploadInfo:
        settings = self.settings
        request = creation_request(
            message,
            max_size=settings.max_size,
            max_metadata_pairs=settings.max_metadata_pairs,
            max_metadata_size=settings.max_metadata_size,
        )
        return await self.service.create(request, principal=self.principal, origin=self.origin)

    async def _receive_until_complete(self, info: UploadInfo) -> UploadInfo:
        while not info.is_complete:
            item = await self._next()
            if isinstance(item, bytes):
                self.reader.put_back(item)
                info = await self._append(info, FrameBody(self.reader, _remaining(info), exact=False))
            elif isinstance(item, Segment):
                info = await self._segment(info, item)
            elif isinstance(item, DeclareLength):
                info = await self._append(info, FrameBody(self.reader, 0, exact=True), declared_length=item.size)
            elif isinstance(item, Ping):
                await self._send({"type": "pong", "timestamp": utc_timestamp(self.service.clock())})
            else:
                raise invalid("this socket's upload has begun: send bytes, segment, length or ping")
            self.info = info
        return info

    async def _segment(self, info: UploadInfo, segment: Segment) -> UploadInfo:
        if segment.checksum is not None and segment.length > self.window:
            # A checksummed segment is acknowledged only once verified: it must fit in the window.
            raise invalid(
                f"a segment with a checksum may be at most the window, {self.window} bytes",
                field="length",
            )
        try:
            body = FrameBody(self.reader, segment.length, exact=True)
            return await self._append(info, body, segment.checksum, content_length=segment.length)
        except TusError as error:
            if error.code != "checksum_mismatch":
                raise
            # Nothing of the segment was kept: the client may send it again, the socket stays open.
            await self._send(error_message(error, self._stored))
            return await self.service.load(info.id)

    async def _append(
        self,
        info: UploadInfo,
        body: FrameBody,
        checksum: Checksum | None = None,
        *,
        declared_length: int | None = None,
        content_length: int | None = None,
    ) -> UploadInfo:
        """One append through the upload service, exactly as a PATCH of `body` at the stored offset."""
        request = AppendRequest(self._stored, declared_length, checksum, content_length)
        try:
            info = await self.service.append(
                info.id, request, body, self.principal, self.origin, on_stored=self._on_stored
            )
        except TusError as error:
            offset = error.details.get("offset")
            if isinstance(offset, int):
                self._on_stored(offset)
            raise
        self._on_stored(info.offset)
        await self._acknowledge()
        return info

    async def _finish(self, info: UploadInfo) -> None:
        """Success at once, or once the pipeline processed the upload (its stages reported on the way)."""
        events = self._pipeline_events
        state: dict[str, Any] = {}
        if events is not None:
            state = (await self.service.load(info.id)).processing or {}  # a resumed upload may be processed
        while events is not None and state.get("status") not in ("processed", "failed"):
            event = await self._next_event(events)
            if event.type is EventType.PROCESSING:
                await self._send(status_message("processing", event.message, **_stage_of(event.to_dict())))
            elif event.type in (EventType.PROCESSED, EventType.FAILED):
                state = event.to_dict()
                state["status"] = event.type.value
            elif event.terminal:
                raise TusError(410, "upload_gone", event.message or "the upload was removed")
        if state.get("status") == "failed":
            raise TusError(
                422,
                "processing_failed",
                f"stage {state.get('stage')} failed: {state.get('error_message', '')}",
                {"stage": state.get("stage"), "error_code": state.get("error_code")},
            )
        data = self._description(info, status=state.get("status", "completed"))
        if "result" in state:
            data["result"] = state["result"]
        processed = " and processed" if state.get("status") == "processed" else ""
        await self._send(success_message(data, f"upload complete{processed}"))

    async def _next_event(self, events: Subscriber) -> Event:
        """The next event of this upload, while noticing a client that goes away meanwhile."""
        waiting = asyncio.ensure_future(events.get())
        reading = asyncio.ensure_future(self.reader.next())
        try:
            done, _ = await asyncio.wait({waiting, reading}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
            reading.cancel()
        if waiting in done:
            try:
                return waiting.result()
            except SubscriberClosed:
                raise _shutting_down() from None
        reading.result()  # raises Disconnected
        raise invalid("nothing is to be sent once the upload is complete")

    # -- reading -------------------------------------------------------------------------------------

    async def _next(self) -> bytes | ClientMessage:
        timeout = self.settings.network_timeout or None  # 0: no timeout, as for a PATCH
        item = await self.reader.next_or(self.interrupted, timeout)
        if item is None:
            raise _shutting_down()
        return item if isinstance(item, bytes) else parse_client_message(item)

    async def _next_message(self) -> ClientMessage:
        item = await self._next()
        if isinstance(item, bytes):
            raise invalid("send a create or resume message before any bytes")
        return item

    # -- writing -------------------------------------------------------------------------------------

    def _on_stored(self, offset: int) -> None:
        """Storage took more of the upload (the service's callback): acknowledge it soon, never blocking."""
        if offset > self._stored:
            self._stored = offset
            self._ack_wanted.set()

    async def _acknowledge_forever(self) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                await self._ack_wanted.wait()
                self._ack_wanted.clear()
                await self._acknowledge()

    async def _acknowledge(self) -> None:
        """One `progress` message for what storage holds beyond the last acknowledgement."""
        info = self.info
        if info is None or self._stored <= self._acknowledged:
            return
        offset = self._stored
        self._acknowledged = offset
        now = self.service.clock()
        self.meter.record(now, offset)
        speed, eta = self.meter.bytes_per_second(now), self.meter.eta_seconds(now, offset, info.size)
        await self._send(progress_message(offset, info.size, speed, eta))

    async def _send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.websocket.send_text(json.dumps(message, separators=(",", ":")))

    async def _fail(self, error: TusError) -> None:
        if error.status >= 500:
            log.warning("WebSocket upload ended: %d %s", error.status, error.code)
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self._send(error_message(error, self._stored if self.info is not None else None))
            await self._close(close_code_for(error), error.message[:120])

    async def _close(self, code: int, reason: str) -> None:
        if self.websocket.application_state is not WebSocketState.DISCONNECTED:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await self.websocket.close(code, reason)

    # -- describing the upload -----------------------------------------------------------------------

    def _where(self, info: UploadInfo) -> dict[str, Any]:
        return {
            "upload_id": info.id,
            "url": self.uploads.urls.upload_url(self.websocket, info.id),
            "offset": info.offset,
            "length": info.size,
        }

    def _description(self, info: UploadInfo, *, status: str) -> dict[str, Any]:
        return {
            "id": info.id,
            "url": self.uploads.urls.upload_url(self.websocket, info.id),
            "filename": filename(info.metadata),
            "size": info.size,
            "content_type": content_type(info.metadata),
            "metadata": info.metadata,
            "uploaded_at": utc_timestamp(info.completed_at or info.updated_at),
            "status": status,
        }


def _remaining(info: UploadInfo) -> int | None:
    return None if info.size is None else info.size - info.offset


def _stage_of(event: dict[str, Any]) -> dict[str, Any]:
    return {"upload_id": event["upload_id"], "stage": event.get("stage"), "stage_progress": event.get("stage_progress")}


def _shutting_down() -> TusError:
    return TusError(503, "server_shutting_down", "the server is stopping; resume shortly", headers={"Retry-After": "5"})
