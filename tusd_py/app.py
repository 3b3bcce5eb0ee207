"""create_app(): a Starlette application serving tus under its own root, ready to run or to mount."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from tusd_py.http.errors import EXCEPTION_HANDLERS
from tusd_py.http.middleware import MethodOverrideMiddleware, TusResumableMiddleware
from tusd_py.http.tus import TusRoutes
from tusd_py.locking import Locker, MemoryLocker
from tusd_py.settings import Settings
from tusd_py.storage import FileStore, UploadStore
from tusd_py.uploads.service import Limits, UploadService


class _StartOnce:
    """Runs the service's start-up on the first request: a mounted app never sees its own lifespan."""

    def __init__(self, app: ASGIApp, service: UploadService) -> None:
        self.app = app
        self.service = service
        self._started: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            if self._started is None:
                self._started = asyncio.ensure_future(self.service.start())
            await asyncio.shield(self._started)
        await self.app(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    *,
    store: UploadStore | None = None,
    locker: Locker | None = None,
) -> Starlette:
    """The tus server as an ASGI app. Settings default to `Settings.from_env()`."""
    settings = settings or Settings.from_env()
    store = store or FileStore(settings.upload_dir, block_size=settings.write_block_size)
    service = UploadService(
        store,
        locker or MemoryLocker(),
        Limits(
            max_size=settings.max_size,
            expire_after=settings.expire_after,
            network_timeout=settings.network_timeout,
            lock_timeout=settings.lock_timeout,
        ),
    )
    tus = TusRoutes(service, settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        service.stop_transfers()

    app = Starlette(
        routes=tus.routes(),
        middleware=[
            Middleware(TusResumableMiddleware),
            Middleware(MethodOverrideMiddleware),
            Middleware(_StartOnce, service=service),
        ],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = service
    return app
