"""create_app(): a Starlette application serving tus under its own root, ready to run or to mount."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from tusd_py.events.bus import LocalEventBus
from tusd_py.events.connections import ConnectionManager
from tusd_py.events.publisher import EventPublisher
from tusd_py.events.streams import StreamFollower
from tusd_py.http.cors import CORSMiddleware
from tusd_py.http.errors import EXCEPTION_HANDLERS
from tusd_py.http.events import EventRoutes
from tusd_py.http.middleware import MethodOverrideMiddleware, ProtocolHeadersMiddleware
from tusd_py.http.progress import ProgressRoutes
from tusd_py.http.tus import TusRoutes
from tusd_py.locking import Locker, MemoryLocker
from tusd_py.ops.background import Background, StartOnFirstRequest
from tusd_py.ops.health import Readiness, healthz
from tusd_py.ops.logging import RequestIdMiddleware
from tusd_py.ops.metrics import Metrics, MetricsMiddleware
from tusd_py.settings import Settings
from tusd_py.state.memory import MemoryBatchBook
from tusd_py.storage import FileStore, UploadStore
from tusd_py.uploads.service import Limits, UploadService
from tusd_py.uploads.tombstones import FileTombstones


def create_app(
    settings: Settings | None = None,
    *,
    store: UploadStore | None = None,
    locker: Locker | None = None,
) -> Starlette:
    """The tus server as an ASGI app. Settings default to `Settings.from_env()`."""
    settings = settings or Settings.from_env()
    file_store = FileStore(settings.upload_dir, block_size=settings.write_block_size)
    service = UploadService(
        store or file_store,
        locker or MemoryLocker(),
        Limits(
            max_size=settings.max_size,
            expire_after=settings.expire_after,
            retain_completed=settings.retain_completed,
            network_timeout=settings.network_timeout,
            lock_timeout=settings.lock_timeout,
        ),
        tombstones=FileTombstones(file_store.directory, settings.tombstone_ttl),
    )
    metrics = Metrics()
    bus = LocalEventBus(history_size=settings.event_history)
    publisher = EventPublisher(
        bus, service.store, batches=MemoryBatchBook(), progress_interval=settings.progress_interval
    )
    service.listeners += [metrics, publisher]
    connections = ConnectionManager(
        bus, max_total=settings.max_event_connections, max_per_owner=settings.max_event_connections_per_user
    )
    removes = settings.expire_after is not None or settings.retain_completed is not None
    background = Background(service, publisher, sweep_interval=settings.sweep_interval if removes else None)
    tus = TusRoutes(service, settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await background.start()
        yield
        await background.stop()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", Readiness(service.store).readyz, methods=["GET"]),
        Route("/metrics", metrics.endpoint, methods=["GET"]),
        # Event and progress routes first: `B events` must not be taken for an upload id.
        *EventRoutes(service, bus, publisher, connections, StreamFollower(bus), settings.base_path).routes(),
        *ProgressRoutes(service, bus, publisher, tus.urls).routes(tus.collection_paths()),
        *tus.routes(),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            # Outermost first. Method override copies the scope, so it comes before everything that reads it.
            Middleware(MethodOverrideMiddleware),
            Middleware(RequestIdMiddleware),
            Middleware(MetricsMiddleware, metrics=metrics),
            Middleware(ProtocolHeadersMiddleware),
            Middleware(CORSMiddleware, origins=settings.cors_origins, allow_credentials=settings.cors_allow_credentials),
            Middleware(StartOnFirstRequest, background=background),
        ],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.metrics = metrics
    app.state.background = background
    app.state.bus = bus
    app.state.publisher = publisher
    app.state.connections = connections
    return app
