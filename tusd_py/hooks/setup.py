"""Choosing hook deliveries and pipeline stages from settings, plus what the embedding application passes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tusd_py.hooks.handlers import FileHooks, HookHandler, HttpHooks, PythonHook, PythonHooks
from tusd_py.hooks.models import HookType
from tusd_py.hooks.pipeline import Pipeline, Stage, load_stages
from tusd_py.protocol.info import UploadInfo
from tusd_py.settings import Settings


def hooks_from(settings: Settings, python_hooks: Mapping[str, PythonHook] | None) -> list[HookHandler]:
    """Python callables first (each named after its hook), then the HTTP endpoint, the gRPC service, then the
    hooks directory."""
    enabled = frozenset(HookType(name) for name in settings.enabled_hooks())
    handlers: list[HookHandler] = []
    if python_hooks:
        handlers.append(PythonHooks(python_hooks))
    if settings.hooks_http:
        handlers.append(
            HttpHooks(
                settings.hooks_http,
                timeout=settings.hooks_timeout,
                retries=settings.hooks_http_retry,
                backoff=settings.hooks_http_backoff,
                enabled=enabled,
            )
        )
    if settings.hooks_grpc:
        handlers.append(grpc_hooks(settings, enabled))
    if settings.hooks_dir is not None:
        handlers.append(FileHooks(Path(settings.hooks_dir), timeout=settings.hooks_timeout, enabled=enabled))
    return handlers


def grpc_hooks(settings: Settings, enabled: frozenset[HookType]) -> HookHandler:
    """The gRPC delivery, imported only when asked for (grpcio is an optional extra)."""
    try:
        from tusd_py.hooks.grpc_hooks import GrpcHooks
    except ImportError as error:
        raise ValueError(f"--hooks-grpc needs grpcio and protobuf: pip install 'tusd_py[grpc]' ({error})") from None
    return GrpcHooks(
        settings.hooks_grpc or "",
        timeout=settings.hooks_timeout,
        retries=settings.hooks_grpc_retry,
        backoff=settings.hooks_grpc_backoff,
        enabled=enabled,
    )


def check_hooks(settings: Settings) -> None:
    """Refuse at start-up, with a message, a delivery that cannot be made (ValueError)."""
    if settings.hooks_grpc:
        grpc_hooks(settings, frozenset())


def pipeline_from(settings: Settings, stages: Sequence[Stage] | None) -> Pipeline | None:
    """Stages passed to create_app, then those named in settings; None when there are none."""
    every = [*(stages or []), *load_stages(settings.pipeline or "")]
    if not every:
        return None
    return Pipeline(
        every,
        concurrency=settings.pipeline_concurrency,
        report_interval=settings.progress_interval,
        rescan_interval=settings.sweep_interval,
    )


def file_storage(directory: Path) -> Callable[[UploadInfo], dict[str, str]]:
    """What hooks are told of where an upload is kept, in tusd's file-store terms."""

    def storage_of(info: UploadInfo) -> dict[str, str]:
        path = directory / info.id
        return {"Type": "filestore", "Path": str(path), "InfoPath": f"{path}.info"}

    return storage_of
