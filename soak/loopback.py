"""A small asyncio TCP server on a free loopback port that tracks its connections' tasks, so stopping it ends them."""

from __future__ import annotations

import asyncio


class LoopbackServer:
    """Subclasses implement `serve(reader, writer)`; the writer is closed after it returns."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            await self.serve(reader, writer)
        except asyncio.CancelledError:
            pass  # stop() ended it: the connection's end, not an error (asyncio would log a cancelled handler)
        finally:
            writer.close()
            self.tasks.discard(task)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError
