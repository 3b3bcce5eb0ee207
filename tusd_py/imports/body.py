"""A source's response body as an ASGI `receive`: the bytes walk the same append path as a PATCH body."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from starlette.types import Message


class SourceBody:
    """Hands the response's bytes on as `http.request` messages, skipping the first `skip` (already stored when a
    source without ranges is fetched again); a network failure reads as the client going away."""

    def __init__(self, response: httpx.Response, skip: int = 0) -> None:
        self._chunks: AsyncIterator[bytes] = response.aiter_raw()
        self._skip = skip
        self.error: httpx.HTTPError | None = None
        self.ended = False

    async def receive(self) -> Message:
        while True:
            try:
                chunk = await anext(self._chunks)
            except StopAsyncIteration:
                self.ended = True
                return {"type": "http.request", "body": b"", "more_body": False}
            except httpx.HTTPError as error:
                self.error = error
                return {"type": "http.disconnect"}
            if self._skip:
                dropped = min(self._skip, len(chunk))
                self._skip -= dropped
                chunk = chunk[dropped:]
            if chunk:
                return {"type": "http.request", "body": chunk, "more_body": True}


async def no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
