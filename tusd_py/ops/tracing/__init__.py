"""OpenTelemetry tracing, off unless asked for: nothing imports OpenTelemetry until tracing is turned on."""

from __future__ import annotations

import asyncio
import importlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tusd_py.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer, TracerProvider
    from starlette.middleware import Middleware


EXPORTERS = ("otlp", "console", "none")


def traces_exporters() -> list[str]:
    """The exporters OTEL_TRACES_EXPORTER names (OTLP when unset, as OpenTelemetry's specification says)."""
    names = [name.strip().lower() for name in os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")]
    unknown = [name for name in names if name not in EXPORTERS]
    if unknown:
        raise ValueError(f"OTEL_TRACES_EXPORTER: unknown exporter {unknown[0]!r} (otlp, console or none)")
    return names


def check_tracing(settings: Settings) -> None:
    """Refuse --tracing at start-up, with a message, when OpenTelemetry's SDK is not installed or
    OTEL_TRACES_EXPORTER names an exporter there is not (ValueError)."""
    if settings.tracing:
        try:
            importlib.import_module("opentelemetry.sdk.trace")
        except ImportError as error:
            raise ValueError(f"--tracing needs OpenTelemetry: pip install 'tusd_py[otel]' ({error})") from None
        traces_exporters()


@dataclass
class Tracing:
    """The server's tracer, and the provider it made from the OTEL_* variables (None when the embedding
    application passed its own, which it shuts down itself)."""

    tracer: Tracer
    owned_provider: Any = None

    async def close(self) -> None:
        """Export what is still batched: `serve` ends on a signal, where exit handlers would never run."""
        if self.owned_provider is not None:
            await asyncio.to_thread(self.owned_provider.shutdown)


def tracing_from(settings: Settings, provider: TracerProvider | None) -> Tracing | None:
    """Tracing with the embedding application's provider, or with `settings.tracing` with one made as the
    OTEL_* variables say; None when tracing is off."""
    if provider is None and not settings.tracing:
        return None
    from tusd_py import __version__

    if provider is not None:
        return Tracing(provider.get_tracer("tusd_py", __version__))
    check_tracing(settings)
    from tusd_py.ops.tracing.provider import provider_from_env

    owned = provider_from_env()
    return Tracing(owned.get_tracer("tusd_py", __version__), owned)


def tracing_middleware(tracer: Tracer, base_path: str) -> Middleware:
    """The middleware that opens a server span for each request."""
    from starlette.middleware import Middleware

    from tusd_py.ops.tracing.middleware import TracingMiddleware

    return Middleware(TracingMiddleware, tracer=tracer, base_path=base_path)
