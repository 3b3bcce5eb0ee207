"""A WebSocket's frames as the upload service reads bodies: one reader of the socket, and a body per append."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Message, Receive

from tusd_py.protocol.errors import TusError

END_OF_BODY: Message = {"type": "http.request", "body": b"", "more_body": False}
DISCONNECT: Message = {"type": "http.disconnect"}


class Disconnected(Exception):
    """The client closed the socket or went away."""


class FrameReader:
    """The one reader of a WebSocket: binary frames as bytes, text frames as str, in order.

    What a body did not use (a text message that ended it, the rest of a frame that crossed a segment's end)
    is put back and read next."""

    def __init__(self, receive: Receive, *, max_frame_size: int) -> None:
        self._receive = receive
        self.max_frame_size = max_frame_size
        self._put_back: bytes | str | None = None
        self.disconnected = False

    async def next(self) -> bytes | str:
        """The next frame; Disconnected once the client is gone; 413 for a frame over the size bound."""
        if self._put_back is not None:
            put_back, self._put_back = self._put_back, None
            return put_back
        if self.disconnected:
            raise Disconnected
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            self.disconnected = True
            raise Disconnected
        data: bytes | None = message.get("bytes")
        item: bytes | str = data if data is not None else message.get("text") or ""
        if len(item) > self.max_frame_size:
            raise TusError(
                413,
                "frame_too_large",
                f"a WebSocket message may carry at most {self.max_frame_size} bytes",
                {"size": len(item), "max_frame_size": self.max_frame_size},
            )
        return item

    async def next_or(self, interrupted: asyncio.Event, timeout: float | None) -> bytes | str | None:
        """The next frame, or None when `interrupted` is set first; 408 after `timeout` seconds of silence."""
        if self._put_back is not None:
            return await self.next()
        reading = asyncio.ensure_future(self.next())
        stopping = asyncio.ensure_future(interrupted.wait())
        try:
            done, _ = await asyncio.wait({reading, stopping}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not reading.done():
                reading.cancel()  # cancelling a pending receive loses no message
        if reading in done:
            return reading.result()
        if stopping in done:
            return None
        raise TusError(408, "idle_timeout", f"nothing arrived for {timeout:g}s", {"timeout": timeout})

    def put_back(self, item: bytes | str) -> None:
        assert self._put_back is None
        if item:
            self._put_back = item


class FrameBody:
    """One append's body, read from the socket as an ASGI `receive`: binary frames until a text message
    arrives, or until `length` bytes were delivered.

    With `exact`, a frame that crosses `length` is split and its rest read next (a segment); without, it is
    delivered whole and the upload service stores what fits and answers 413, as for a PATCH."""

    def __init__(self, reader: FrameReader, length: int | None, *, exact: bool) -> None:
        self._reader = reader
        self._length = length
        self._exact = exact
        self.delivered = 0

    async def __call__(self) -> Message:
        if self._length is not None and self.delivered >= self._length:
            return END_OF_BODY
        try:
            item = await self._reader.next()
        except Disconnected:
            return DISCONNECT
        if isinstance(item, str):
            self._reader.put_back(item)  # a message ends the body; the session reads it next
            return END_OF_BODY
        if self._exact and self._length is not None and len(item) > self._length - self.delivered:
            cut = self._length - self.delivered
            item, rest = item[:cut], item[cut:]
            self._reader.put_back(rest)
        self.delivered += len(item)
        more = self._length is None or self.delivered < self._length
        body: dict[str, Any] = {"type": "http.request", "body": item, "more_body": more}
        return body
