"""A TCP proxy in front of a real server that can drop every connection mid-stream, like a network that goes away."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from tests.support.live_server import free_port


class TcpProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`upstream_port` byte for byte, on a thread of its own.

    `cut_after(n)`: once `n` more bytes went from clients to the server, every open connection is aborted
    (the server sees a client that vanished mid-request, the client a reset connection). New connections
    are accepted again at once."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.cuts = 0
        self._cut_in: int | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def url_for(self, url: str) -> str:
        return url.replace(f":{self.upstream_port}/", f":{self.port}/", 1)

    def cut_after(self, count: int) -> None:
        self._loop.call_soon_threadsafe(setattr, self, "_cut_in", count)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self._ready.set()
        async with server:
            await self._stop.wait()
            self._abort_all()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_writer.transport.abort()
            return
        self._connections |= {client_writer, upstream_writer}
        try:
            await asyncio.gather(
                self._pump(client_reader, upstream_writer, counted=True),
                self._pump(upstream_reader, client_writer, counted=False),
            )
        finally:
            self._connections -= {client_writer, upstream_writer}
            for writer in (client_writer, upstream_writer):
                writer.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, counted: bool) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(65536):
                if counted and self._cut_in is not None and len(data) >= self._cut_in:
                    writer.write(data[: self._cut_in])
                    with contextlib.suppress(OSError, ConnectionError):
                        await writer.drain()
                    self._cut_in = None
                    self.cuts += 1
                    self._abort_all()
                    return
                if counted and self._cut_in is not None:
                    self._cut_in -= len(data)
                writer.write(data)
                await writer.drain()
            writer.close()  # the other side finished: pass the end on

    def _abort_all(self) -> None:
        for writer in list(self._connections):
            writer.transport.abort()
        self._connections.clear()
