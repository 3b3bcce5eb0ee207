"""The hook endpoint the instances call (`--hooks-http`): answers `{}`, or, while a fault says so, fails (503) or
hangs past the hooks' time-out."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

from soak.loopback import LoopbackServer

MODES = ("ok", "fail", "hang")


class HookEndpoint(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.mode = "ok"
        self.calls: Counter[str] = Counter()  # by mode answered

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError):
            while await self._one(reader, writer):
                pass
    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        await reader.readexactly(length)
        mode = self.mode
        self.calls[mode] += 1
        if mode == "hang":
            await reader.read(1)  # until the instance gives up and closes (or the soak ends)
            return False
        status, body = ("503 Service Unavailable", b'{"error": "soak fault"}') if mode == "fail" else ("200 OK", b"{}")
        writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                     .encode() + body)
        await writer.drain()
        return True
