"""The server's background work, started once: by the lifespan when standalone, by the first request when mounted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from tusd_py.events.connections import ConnectionManager
from tusd_py.events.publisher import EventPublisher
from tusd_py.hooks.pipeline import Pipeline
from tusd_py.hooks.runner import Hooks
from tusd_py.uploads.service import UploadService

log = logging.getLogger("tusd_py.ops")


class Background:
    def __init__(
        self,
        service: UploadService,
        publisher: EventPublisher,
        *,
        sweep_interval: float | None,
        connections: ConnectionManager | None = None,
        listeners: list[Callable[[], Coroutine[Any, Any, None]]] | None = None,
        close: Callable[[], Awaitable[None]] | None = None,
        pipeline: Pipeline | None = None,
        hooks: Hooks | None = None,
        on_interrupt: list[Callable[[], None]] | None = None,
    ) -> None:
        self.service = service
        self.publisher = publisher
        self.connections = connections
        self.listeners = listeners or []  # long-running loops, e.g. Redis subscriptions
        self.close = close
        self.pipeline = pipeline
        self.hooks = hooks
        self.on_interrupt = on_interrupt or []  # more to end at once on shutdown (idle upload sockets)
        self.sweep_interval = sweep_interval
        self._started: asyncio.Future[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if self._started is None:
            self._started = asyncio.ensure_future(self._start())
        await asyncio.shield(self._started)

    async def _start(self) -> None:
        self.publisher.start()
        self._tasks += [asyncio.create_task(listen()) for listen in self.listeners]
        await self.service.start()
        if self.pipeline is not None:
            await self.pipeline.start()
        if self.sweep_interval:
            self._tasks.append(asyncio.create_task(self._sweep_forever(self.sweep_interval)))

    async def _sweep_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                removed = await self.service.sweep()
                if removed:
                    log.info("expiry sweep removed %d upload(s)", removed)
            except Exception:
                log.exception("expiry sweep failed; trying again in %gs", interval)

    def interrupt(self) -> None:
        """The server is going down: PATCHes end now keeping their bytes (503), and event streams close."""
        self.service.stop_transfers()
        if self.connections is not None:
            self.connections.close_all()
        for interrupt in self.on_interrupt:
            interrupt()

    async def stop(self) -> None:
        self.interrupt()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.publisher.drain(), 2.0)
        await self.publisher.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.pipeline is not None:
            await self.pipeline.stop()  # an interrupted stage runs again after the restart: it is still pending
        if self.hooks is not None:
            await self.hooks.close()
        if self.close is not None:
            await self.close()


class StartOnFirstRequest:
    """A mounted app never sees its own lifespan, so the first request starts the background work."""

    def __init__(self, app: ASGIApp, background: Background) -> None:
        self.app = app
        self.background = background

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            await self.background.start()
        await self.app(scope, receive, send)
