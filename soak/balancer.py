"""A TCP load balancer without affinity: each connection goes to a random instance (node clients send
`Connection: close`, so each of their requests is a connection of its own)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable

from soak.loopback import LoopbackServer


class Balancer(LoopbackServer):
    def __init__(self, ports: Callable[[], list[int]], rng: random.Random) -> None:
        super().__init__()
        self.ports = ports
        self.rng = rng

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/files/"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = self.rng.choice(self.ports())
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return  # as a balancer whose backend is down: the client sees the connection close
        try:
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            upstream_writer.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await source.read(256 * 1024):
            sink.write(data)
            await sink.drain()
    with contextlib.suppress(OSError, RuntimeError):
        if sink.can_write_eof():
            sink.write_eof()
