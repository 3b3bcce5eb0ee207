"""Request bodies read through `receive()`, ended with 408 when the client stops sending (`--network-timeout`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.requests import Request

from tusd_py.protocol.errors import TusError


async def body_chunks(request: Request, idle_timeout: float | None) -> AsyncIterator[bytes]:
    """The request body, ended with 408 when the client sends nothing for `idle_timeout` seconds."""
    stream = request.stream()
    while True:
        try:
            async with asyncio.timeout(idle_timeout):
                chunk = await anext(stream)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise TusError(408, "body_timeout", f"no bytes arrived for {idle_timeout:g}s") from None
        yield chunk
