"""A TracerProvider made as OpenTelemetry's standard variables say: OTEL_TRACES_EXPORTER (otlp, console, none),
OTEL_EXPORTER_OTLP_* for where OTLP goes, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER."""

from __future__ import annotations

import importlib
import logging
import os

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from tusd_py.ops.tracing import traces_exporters

log = logging.getLogger("tusd_py.tracing")

DEFAULT_SERVICE_NAME = "tusd-py"


def provider_from_env() -> TracerProvider:
    """Spans batched to each exporter OTEL_TRACES_EXPORTER names; when OTLP's exporter is not installed they go
    to the console instead, with a warning."""
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": DEFAULT_SERVICE_NAME}
    provider = TracerProvider(resource=Resource.create(attributes))  # the sampler comes from OTEL_TRACES_SAMPLER
    for name in traces_exporters():
        exporter = exporter_named(name)
        if exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def exporter_named(name: str) -> SpanExporter | None:
    if name == "none":
        return None
    if name == "console":
        return ConsoleSpanExporter()
    try:
        return otlp_exporter()
    except ImportError:
        log.warning(
            "OTEL_TRACES_EXPORTER is otlp but no OTLP exporter is installed (pip install"
            " opentelemetry-exporter-otlp): spans go to the console"
        )
        return ConsoleSpanExporter()


def otlp_exporter() -> SpanExporter:
    """OTLP over HTTP/protobuf, or over gRPC when OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL says `grpc`; the
    exporter reads its endpoint, headers and time-out from the OTEL_EXPORTER_OTLP_* variables itself."""
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    )
    transport = "grpc" if protocol.strip() == "grpc" else "http"
    module = importlib.import_module(f"opentelemetry.exporter.otlp.proto.{transport}.trace_exporter")
    exporter: SpanExporter = module.OTLPSpanExporter()
    return exporter
