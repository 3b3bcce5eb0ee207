"""Spans around what a request does and waits on: upload operations, lock waits, store calls, hook calls, and the
pipeline's stages.

They are put in place once, at start-up, by wrapping those objects' methods on the instances, and only when
tracing is on: with tracing off nothing here is imported or wrapped, and the server runs the very code it runs
without it."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from opentelemetry import trace

from tusd_py.hooks.handlers import HookHandler
from tusd_py.hooks.models import HookRequest, HookResponse, HookType
from tusd_py.hooks.pipeline import Pipeline, Stage, StageContext
from tusd_py.protocol.info import UploadInfo
from tusd_py.uploads.service import UploadService

OPERATIONS = ("create", "append", "head", "terminate")
STORE_CALLS = ("create", "get_info", "save_info", "declare_length", "terminate", "concatenate", "check_ready")
UPLOAD_ID = "tus.upload.id"
OFFSET = "tus.upload.offset"
BYTES = "tus.upload.bytes"


def instrument(service: UploadService, pipeline: Pipeline | None, tracer: trace.Tracer) -> None:
    for name in OPERATIONS:
        _wrap_async(service, name, tracer, f"tus.{name}")
    store = service.store
    for name in STORE_CALLS:
        _wrap_async(store, name, tracer, f"store.{name}")
    _wrap_appenders(store, tracer)
    _wrap_reads(store, tracer)
    _wrap_async(service.locker, "acquire", tracer, "lock.wait")
    if service.hooks is not None:
        service.hooks.handlers = [TracedHook(handler, tracer) for handler in service.hooks.handlers]
    if pipeline is not None:
        pipeline.stages = [Stage(stage.name, traced_stage(stage, tracer)) for stage in pipeline.stages]
    service.listeners.append(record_bytes)


def upload_attributes(args: tuple[Any, ...]) -> dict[str, Any]:
    """The upload a call is about, from its first argument (an id or an UploadInfo), and an append's offset."""
    attributes: dict[str, Any] = {}
    first = args[0] if args else None
    if isinstance(first, str) and first:
        attributes[UPLOAD_ID] = first
    elif isinstance(first, UploadInfo) and first.id:
        attributes[UPLOAD_ID] = first.id
    offset = getattr(args[1], "offset", None) if len(args) > 1 else None  # an AppendRequest's
    if isinstance(offset, int):
        attributes[OFFSET] = offset
    return attributes


def _replace(owner: object, name: str, wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    """Put `wrap(method)` in the place of the instance's method, when it has one."""
    method = getattr(owner, name, None)
    if method is not None:
        setattr(owner, name, functools.wraps(method)(wrap(method)))


def _wrap_async(owner: object, name: str, tracer: trace.Tracer, span_name: str) -> None:
    def wrap(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def traced(*args: Any, **kwargs: Any) -> Any:
            with tracer.start_as_current_span(span_name, attributes=upload_attributes(args)) as span:
                result = await method(*args, **kwargs)
                if isinstance(result, UploadInfo):  # a creation learns its id only now
                    span.set_attribute(UPLOAD_ID, result.id)
                return result

        return traced

    _replace(owner, name, wrap)


def _wrap_appenders(store: object, tracer: trace.Tracer) -> None:
    """An append's last store call: the appender's close, which hands the rest to storage (and keeps or drops
    staged bytes)."""

    def wrap(open_appender: Callable[..., Any]) -> Callable[..., Any]:
        def traced_open(info: UploadInfo, **kwargs: Any) -> Any:
            appender = open_appender(info, **kwargs)
            _wrap_async(appender, "close", tracer, "store.append.close")
            return appender

        return traced_open

    _replace(store, "open_appender", wrap)


def _wrap_reads(store: object, tracer: trace.Tracer) -> None:
    """Downloads: a span over the whole read, or over opening the file that the kernel then sends."""

    def wrap_read(read: Callable[..., AsyncIterator[bytes]]) -> Callable[..., AsyncIterator[bytes]]:
        def traced_read(info: UploadInfo, start: int, stop: int) -> AsyncIterator[bytes]:
            return _read_in_span(read(info, start, stop), tracer, info, start, stop)

        return traced_read

    def wrap_open_file(open_file: Callable[[UploadInfo], Any]) -> Callable[[UploadInfo], Any]:
        def traced_open_file(info: UploadInfo) -> Any:
            with tracer.start_as_current_span("store.open_file", attributes={UPLOAD_ID: info.id}):
                return open_file(info)

        return traced_open_file

    _replace(store, "read", wrap_read)
    _replace(store, "open_file", wrap_open_file)


async def _read_in_span(
    chunks: AsyncIterator[bytes], tracer: trace.Tracer, info: UploadInfo, start: int, stop: int
) -> AsyncIterator[bytes]:
    # Not made current: a generator's context may be entered and left in different tasks.
    span = tracer.start_span("store.read", attributes={UPLOAD_ID: info.id, OFFSET: start, BYTES: stop - start})
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        span.end()


def record_bytes(kind: str, info: UploadInfo, received: int) -> None:
    """A request stored bytes: the operation's span (the current one, as the service tells its listeners from
    inside it) says how many, and where they began."""
    if kind == "received":
        span = trace.get_current_span()
        span.set_attribute(BYTES, received)
        span.set_attribute(OFFSET, info.offset - received)


class TracedHook:
    """One delivery of hooks, each call in a span: the hook's name, the delivery, the upload, and the answer."""

    def __init__(self, handler: HookHandler, tracer: trace.Tracer) -> None:
        self.handler = handler
        self.tracer = tracer
        self.delivery = type(handler).__name__.removesuffix("Hooks").lower() or "custom"
        remote = self.delivery in ("http", "grpc")
        self.kind = trace.SpanKind.CLIENT if remote else trace.SpanKind.INTERNAL

    def handles(self, hook: HookType) -> bool:
        return self.handler.handles(hook)

    async def __call__(self, request: HookRequest) -> HookResponse:
        attributes = {"tus.hook.type": request.type.value, "tus.hook.delivery": self.delivery}
        if request.upload.id:
            attributes[UPLOAD_ID] = request.upload.id
        with self.tracer.start_as_current_span(
            f"hook {request.type.value}", kind=self.kind, attributes=attributes
        ) as span:
            response = await self.handler(request)
            for flag in ("reject_upload", "reject_termination", "stop_upload"):
                if getattr(response, flag):
                    span.set_attribute(f"tus.hook.{flag}", True)
            return response

    async def close(self) -> None:
        close = getattr(self.handler, "close", None)
        if close is not None:
            await close()


def traced_stage(stage: Stage, tracer: trace.Tracer) -> Callable[[StageContext], Awaitable[dict[str, Any] | None]]:
    async def run(context: StageContext) -> dict[str, Any] | None:
        attributes = {UPLOAD_ID: context.upload.id, "tus.pipeline.stage": stage.name}
        with tracer.start_as_current_span(f"pipeline.stage {stage.name}", attributes=attributes):
            return await stage.run(context)

    return run
