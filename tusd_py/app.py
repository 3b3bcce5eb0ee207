"""create_app(): a Starlette application serving tus under its own root, ready to run or to mount."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from tusd_py.auth.middleware import AuthMiddleware
from tusd_py.auth.principal import Authenticator
from tusd_py.auth.setup import authenticator_from
from tusd_py.demo import DemoPage
from tusd_py.events.bus import EventBus, LocalEventBus
from tusd_py.events.connections import ConnectionManager
from tusd_py.events.publisher import EventPublisher
from tusd_py.events.streams import StreamFollower
from tusd_py.forms.session import FormLimits
from tusd_py.hooks.handlers import PythonHook
from tusd_py.hooks.pipeline import Stage
from tusd_py.hooks.runner import Hooks
from tusd_py.hooks.setup import file_storage, hooks_from, pipeline_from
from tusd_py.http.cors import CORSMiddleware
from tusd_py.http.errors import EXCEPTION_HANDLERS, handle_redis_error
from tusd_py.http.events import EventRoutes
from tusd_py.http.forms import FormRoutes
from tusd_py.http.imports import ImportRoutes
from tusd_py.http.middleware import MethodOverrideMiddleware, ProtocolHeadersMiddleware
from tusd_py.http.progress import ProgressRoutes
from tusd_py.http.rate_limit import RateLimitMiddleware
from tusd_py.http.tus import TusRoutes
from tusd_py.http.ws_upload import WebSocketUploads
from tusd_py.imports.setup import importer_from
from tusd_py.locking import Locker, MemoryLocker
from tusd_py.ops.background import Background, StartOnFirstRequest
from tusd_py.ops.health import Readiness, healthz
from tusd_py.ops.logging import RequestIdMiddleware
from tusd_py.ops.metrics import Metrics, MetricsMiddleware
from tusd_py.ops.tracing import tracing_from, tracing_middleware
from tusd_py.protocol.info import UploadInfo
from tusd_py.settings import Settings
from tusd_py.state.base import BatchBook, ConcatIndex
from tusd_py.state.memory import MemoryBatchBook, MemoryConcatIndex
from tusd_py.storage import FileStore, UploadStore
from tusd_py.storage.base import RemoteStore
from tusd_py.uploads.service import Limits, UploadService
from tusd_py.uploads.tombstones import FileTombstones, Tombstones

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider


@dataclass
class Coordination:
    """What several instances must share: locks, events and state. In memory for one process, else Redis."""

    locker: Locker
    bus: EventBus
    concat_index: ConcatIndex
    batches: BatchBook
    listeners: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    checks: dict[str, Callable[[], Awaitable[object]]] = field(default_factory=dict)
    close: Callable[[], Awaitable[None]] | None = None
    exception_handlers: dict[type[Exception], Any] = field(default_factory=dict)


def coordination(settings: Settings) -> Coordination:
    if not settings.redis_url:
        return Coordination(
            MemoryLocker(), LocalEventBus(history_size=settings.event_history), MemoryConcatIndex(), MemoryBatchBook()
        )
    # Imported only when asked for: the redis client costs a single-process server some 6 MB of memory.
    from redis.exceptions import RedisError

    from tusd_py.events.redis_bus import RedisEventBus
    from tusd_py.locking.redis import RedisLocker
    from tusd_py.state.redis import RedisBatchBook, RedisConcatIndex, connect

    redis = connect(settings.redis_url)
    prefix = settings.redis_prefix
    locker = RedisLocker(redis, prefix=prefix, ttl=settings.lock_ttl)
    bus = RedisEventBus(redis, prefix=prefix, history_size=settings.event_history)
    return Coordination(
        locker,
        bus,
        RedisConcatIndex(redis, prefix=prefix),
        RedisBatchBook(redis, prefix=prefix),
        listeners=[locker.listen, bus.listen],
        checks={"redis": redis.ping},
        close=redis.aclose,
        exception_handlers={RedisError: handle_redis_error},
    )


def store_from(settings: Settings) -> UploadStore:
    """The store the settings choose: S3 with --s3-bucket, else the file store in --upload-dir."""
    if settings.s3_bucket:
        from tusd_py.storage.s3 import S3Store

        return S3Store(
            settings.s3_bucket,
            endpoint=settings.s3_endpoint,
            region=settings.s3_region,
            prefix=settings.s3_object_prefix,
            part_size=settings.s3_part_size,
            concurrency=settings.s3_concurrent_part_uploads,
            presign_downloads=settings.s3_presign_downloads,
        )
    return FileStore(settings.upload_dir, block_size=settings.write_block_size)


@dataclass
class Placement:
    """What depends on where the bytes are: tombstones, hooks' `Storage`, the pipeline's paths, closing."""

    tombstones: Tombstones
    storage_of: Callable[[UploadInfo], dict[str, str]]
    path_of: Callable[[str], Path]
    local_copy: Callable[[UploadInfo], AbstractAsyncContextManager[Path]] | None = None
    close: Callable[[], Awaitable[None]] | None = None

    @classmethod
    def of(cls, store: UploadStore, settings: Settings) -> Placement:
        if isinstance(store, RemoteStore):
            return cls(
                store.tombstones(settings.tombstone_ttl),
                lambda info: dict(info.storage),
                Path,
                store.local_copy,
                store.aclose,
            )
        # The file store's directory; a store of the application's own keeps tombstones and paths there too.
        directory = store.directory if isinstance(store, FileStore) else FileStore(settings.upload_dir).directory
        files = store if isinstance(store, FileStore) else FileStore(directory)
        return cls(FileTombstones(directory, settings.tombstone_ttl), file_storage(directory), files.data_path)


def create_app(
    settings: Settings | None = None,
    *,
    store: UploadStore | None = None,
    locker: Locker | None = None,
    authenticator: Authenticator | None = None,
    hooks: Mapping[str, PythonHook] | None = None,
    pipeline: Sequence[Stage] | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Starlette:
    """The tus server as an ASGI app. Settings default to `Settings.from_env()`.

    `authenticator` (an async callable taking the connection, returning a Principal or None) replaces the
    authentication chosen by `settings.auth`. `hooks` maps hook names ("pre-create", …) to callables taking a
    HookRequest and returning a HookResponse or None, sync or async. `pipeline` lists the processing stages
    run after each upload completes (before those named in `settings.pipeline`). `tracer_provider` (an
    OpenTelemetry TracerProvider) turns tracing on with the application's own provider."""
    settings = settings or Settings.from_env()
    auth = (authenticator, "Bearer") if authenticator is not None else authenticator_from(settings)
    shared = coordination(settings)
    store = store or store_from(settings)
    placement = Placement.of(store, settings)
    service = UploadService(
        store,
        locker or shared.locker,
        Limits(
            max_size=settings.max_size,
            expire_after=settings.expire_after,
            retain_completed=settings.retain_completed,
            network_timeout=settings.network_timeout,
            lock_timeout=settings.lock_timeout,
        ),
        tombstones=placement.tombstones,
        concat_index=shared.concat_index,
    )
    if not settings.repr_digest:
        service.digests = None
    handlers = hooks_from(settings, hooks)
    if handlers:
        service.hooks = Hooks(
            handlers,
            progress_interval=settings.hooks_progress_interval,
            storage_of=placement.storage_of,
        )
    processing = pipeline_from(settings, pipeline)
    if processing is not None:
        processing.attach(service, placement.path_of, placement.local_copy)
    tracing = tracing_from(settings, tracer_provider)
    if tracing is not None:
        from tusd_py.ops.tracing.instrument import instrument

        instrument(service, processing, tracing.tracer)
    metrics = Metrics()
    publisher = EventPublisher(
        shared.bus, service.store, batches=shared.batches, progress_interval=settings.progress_interval
    )
    service.listeners += [metrics, publisher]
    connections = ConnectionManager(
        shared.bus, max_total=settings.max_event_connections, max_per_owner=settings.max_event_connections_per_user
    )
    tus = TusRoutes(service, settings)
    importer = importer_from(settings, service)
    ws_uploads = WebSocketUploads(service, shared.bus, tus.urls, settings)
    forms = FormRoutes(
        service,
        tus.urls,
        FormLimits(settings.max_size, settings.form_max_parts, settings.form_max_field_size, settings.network_timeout),
    )
    background = Background(
        service,
        publisher,
        sweep_interval=settings.sweep_interval,
        connections=connections,
        listeners=shared.listeners,
        close=shared.close,
        pipeline=processing,
        hooks=service.hooks,
        on_interrupt=[ws_uploads.interrupt, forms.interrupt],
    )

    event_routes = EventRoutes(
        service,
        shared.bus,
        publisher,
        connections,
        StreamFollower(shared.bus, completion_is_terminal=processing is None),
        settings.base_path,
    )
    metrics.count_event_messages(event_routes.frames)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await background.start()
        if importer is not None:
            importer.start_resuming()
        yield
        if importer is not None:
            await importer.stop()
        await background.stop()
        if placement.close is not None:
            await placement.close()
        if tracing is not None:
            await tracing.close()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),  # GET and HEAD, even with the base path "/"
        Route("/readyz", Readiness(service.store, shared.checks).readyz, methods=["GET"]),
        Route("/metrics", metrics.endpoint, methods=["GET"]),
        *tus.routes(),  # POST, HEAD, PATCH, OPTIONS, DELETE: no route below takes those methods but HEAD
        *ImportRoutes(importer, tus.urls, settings.network_timeout or None).routes(),
        *forms.routes(),
        # Event, progress and upload-socket routes before downloads: `B events` must not be taken for an upload id.
        *ws_uploads.routes(),
        *event_routes.routes(),
        *ProgressRoutes(service, shared.bus, publisher, tus.urls).routes(tus.collection_paths()),
        *tus.download_routes(),
        *tus.unknown_upload_routes(),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            # Outermost first. Method override copies the scope, so it comes before everything that reads it.
            Middleware(MethodOverrideMiddleware),
            *([tracing_middleware(tracing.tracer, settings.base_path)] if tracing is not None else []),
            Middleware(RequestIdMiddleware),
            Middleware(MetricsMiddleware, metrics=metrics),
            Middleware(ProtocolHeadersMiddleware),
            Middleware(
                CORSMiddleware, origins=settings.cors_origins, allow_credentials=settings.cors_allow_credentials
            ),
            # The demo page holds no data and must load before a browser can send credentials: ahead of auth.
            *(
                [Middleware(DemoPage, base_path=settings.base_path, auth_scheme=auth[1] if auth else None)]
                if settings.demo
                else []
            ),
            *(
                [
                    Middleware(
                        AuthMiddleware,
                        authenticator=auth[0],
                        scheme=auth[1],
                        failures_per_minute=settings.auth_failure_limit,
                    )
                ]
                if auth
                else []
            ),
            *(
                [Middleware(RateLimitMiddleware, rate=settings.rate_limit, burst=settings.rate_burst)]
                if settings.rate_limit
                else []
            ),
            Middleware(StartOnFirstRequest, background=background),
        ],
        exception_handlers={**EXCEPTION_HANDLERS, **shared.exception_handlers},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.metrics = metrics
    app.state.background = background
    app.state.bus = shared.bus
    app.state.publisher = publisher
    app.state.connections = connections
    app.state.importer = importer
    return app
