"""OpenTelemetry spans from a real server: each request is a server span named after its route, with
OpenTelemetry's HTTP attributes and the upload it was about, and under it the operation, its lock wait, its store
calls and its hooks; pipeline stages have spans of their own.

The server runs in this process (uvicorn, `tusd-py serve`'s protocols, a real port) so that it can hand its spans
to the SDK's in-memory exporter the test reads; `tusd-py serve --tracing` itself is tested further down, exporting
to its console."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.in_process import ThreadedServer
from tests.support.live_server import LiveServer
from tests.support.tus import OFFSET_BODY, TUS, upload_id
from tests.support.waiting import wait_until
from tusd_py import Settings, create_app
from tusd_py.hooks import HookRequest, HookResponse
from tusd_py.hooks.pipeline import Stage, StageContext
from tusd_py.protocol.metadata import format_metadata

FAILING = "fail-me"


def pre_create(request: HookRequest) -> HookResponse | None:
    if request.upload.metadata.get("filename") == FAILING:
        raise RuntimeError("the hook broke")
    return None


async def digest(context: StageContext) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"bytes": context.path.stat().st_size}


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, exporter: InMemorySpanExporter) -> Iterator[ThreadedServer]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = Settings.from_env({}, upload_dir=tmp_path_factory.mktemp("traced"))
    app = create_app(
        settings, hooks={"pre-create": pre_create}, pipeline=[Stage("digest", digest)], tracer_provider=provider
    )
    with ThreadedServer(app) as server:
        yield server


@pytest.fixture
def client(server: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers={**TUS, "User-Agent": "tracing-test/1"}) as client:
        yield client


def create(client: httpx.Client, length: int, filename: str = "a.bin") -> str:
    metadata = format_metadata({"filename": filename})
    response = client.post("/files/", headers={"Upload-Length": str(length), "Upload-Metadata": metadata})
    assert response.status_code == 201, response.text
    return str(response.headers["location"])


def spans(exporter: InMemorySpanExporter, name: str, count: int = 1, **attributes: Any) -> list[ReadableSpan]:
    """The ended spans of that name whose attributes (dots written as `__`) are those, once there are `count`:
    a span ends after its work, a request's after its answer was sent."""
    wanted = {key.replace("__", "."): value for key, value in attributes.items()}

    def found() -> list[ReadableSpan]:
        return [
            span
            for span in exporter.get_finished_spans()
            if span.name == name and all((span.attributes or {}).get(k) == v for k, v in wanted.items())
        ]

    wait_until(lambda: len(found()) >= count, timeout=5)
    return found()


def request_span(exporter: InMemorySpanExporter, name: str, upload: str) -> ReadableSpan:
    [span] = spans(exporter, name, tus__upload__id=upload)
    assert span.kind is SpanKind.SERVER
    return span


def children(exporter: InMemorySpanExporter, parent: ReadableSpan) -> dict[str, ReadableSpan]:
    return {
        span.name: span
        for span in exporter.get_finished_spans()
        if span.parent is not None and span.parent.span_id == parent.context.span_id
    }


def test_a_creation_is_a_server_span_with_http_attributes(
    server: ThreadedServer, client: httpx.Client, exporter: InMemorySpanExporter
) -> None:
    url = create(client, 10)

    span = request_span(exporter, "POST /files/", upload_id(url))
    assert span.kind is SpanKind.SERVER
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {}) | {"client.port": 0} == {
        "http.request.method": "POST",
        "http.route": "/files/",
        "http.response.status_code": 201,
        "url.path": "/files/",
        "url.scheme": "http",
        "server.address": "127.0.0.1",
        "server.port": server.port,
        "client.address": "127.0.0.1",
        "client.port": 0,
        "network.protocol.version": "1.1",
        "user_agent.original": "tracing-test/1",
        "tus.operation": "create",
        "tus.upload.id": upload_id(url),
    }


def test_a_creation_has_its_operation_store_call_and_hook_beneath_it(
    client: httpx.Client, exporter: InMemorySpanExporter
) -> None:
    url = create(client, 10)

    operation = children(exporter, request_span(exporter, "POST /files/", upload_id(url)))["tus.create"]
    assert operation.attributes["tus.upload.id"] == upload_id(url)
    beneath = children(exporter, operation)
    assert beneath["store.create"].attributes["tus.upload.id"] == upload_id(url)
    hook = beneath["hook pre-create"]
    assert dict(hook.attributes or {}) == {"tus.hook.type": "pre-create", "tus.hook.delivery": "python"}


def test_an_append_carries_its_offset_and_bytes(client: httpx.Client, exporter: InMemorySpanExporter) -> None:
    url = create(client, 10)
    assert client.patch(url, content=b"abcd", headers={**OFFSET_BODY, "Upload-Offset": "0"}).status_code == 204

    assert client.patch(url, content=b"efghij", headers={**OFFSET_BODY, "Upload-Offset": "4"}).status_code == 204

    appends = spans(exporter, "tus.append", 2, tus__upload__id=upload_id(url))
    assert sorted((span.attributes["tus.upload.offset"], span.attributes["tus.upload.bytes"]) for span in appends) == [
        (0, 4),
        (4, 6),
    ]
    [last] = [span for span in appends if span.attributes["tus.upload.offset"] == 4]
    [request] = [
        span for span in spans(exporter, "PATCH /files/{upload_id}", 2) if span.context.span_id == last.parent.span_id
    ]
    assert (request.kind, request.attributes["tus.operation"]) == (SpanKind.SERVER, "append")
    beneath = children(exporter, last)
    assert beneath["lock.wait"].attributes["tus.upload.id"] == upload_id(url)
    # It read the upload's info, stored the bytes, and saved the info of the now complete upload.
    assert {"store.get_info", "store.append.close", "store.save_info"} <= set(beneath)


@pytest.mark.parametrize(("method", "operation"), [("HEAD", "head"), ("GET", "download"), ("DELETE", "terminate")])
def test_each_operation_has_its_span(
    client: httpx.Client, exporter: InMemorySpanExporter, method: str, operation: str
) -> None:
    url = create(client, 3)
    client.patch(url, content=b"xyz", headers={**OFFSET_BODY, "Upload-Offset": "0"})

    assert client.request(method, url).status_code in (200, 204)

    span = request_span(exporter, f"{method} /files/{{upload_id}}", upload_id(url))
    assert span.attributes["tus.operation"] == operation
    beneath = children(exporter, span)
    if operation == "download":  # read in Python, or opened for the kernel to send
        assert {"store.read", "store.open_file"} & set(beneath)
    else:
        assert beneath[f"tus.{operation}"].attributes["tus.upload.id"] == upload_id(url)


def test_a_pipeline_stage_has_a_span_with_its_upload(client: httpx.Client, exporter: InMemorySpanExporter) -> None:
    url = create(client, 2)
    client.patch(url, content=b"ok", headers={**OFFSET_BODY, "Upload-Offset": "0"})

    [stage] = spans(exporter, "pipeline.stage digest", tus__upload__id=upload_id(url))
    assert stage.attributes["tus.pipeline.stage"] == "digest"


def test_a_failed_hook_is_an_error_in_its_span_and_a_5xx_in_the_request(
    client: httpx.Client, exporter: InMemorySpanExporter
) -> None:
    metadata = format_metadata({"filename": FAILING})

    response = client.post("/files/", headers={"Upload-Length": "1", "Upload-Metadata": metadata})

    assert response.status_code == 502
    [span] = spans(exporter, "POST /files/", http__response__status_code=502)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes["error.type"], span.attributes["tus.error_code"]) == ("502", "hook_failed")
    hook = children(exporter, children(exporter, span)["tus.create"])["hook pre-create"]
    assert hook.status.status_code is StatusCode.ERROR
    assert [event.name for event in hook.events] == ["exception"]


def test_a_client_error_is_not_a_server_error(client: httpx.Client, exporter: InMemorySpanExporter) -> None:
    assert client.head("/files/0123456789abcdef").status_code == 404

    span = request_span(exporter, "HEAD /files/{upload_id}", "0123456789abcdef")
    assert span.attributes["http.response.status_code"] == 404
    assert span.attributes["tus.error_code"] == "upload_not_found"
    assert span.status.status_code is StatusCode.UNSET


def test_the_clients_trace_goes_on_through_the_server(client: httpx.Client, exporter: InMemorySpanExporter) -> None:
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"

    url = create_with(client, {"traceparent": f"00-{trace_id}-{parent_id}-01"})

    span = request_span(exporter, "POST /files/", upload_id(url))
    assert format(span.context.trace_id, "032x") == trace_id
    assert span.parent is not None and format(span.parent.span_id, "016x") == parent_id


def create_with(client: httpx.Client, headers: dict[str, str]) -> str:
    response = client.post("/files/", headers={"Upload-Length": "1", **headers})
    assert response.status_code == 201
    return str(response.headers["location"])


# -- off by default, and free when off -----------------------------------------------------------------------


def test_without_tracing_nothing_is_wrapped_and_opentelemetry_is_never_imported(tmp_path: Path) -> None:
    program = f"""
import sys
from starlette.testclient import TestClient
from tusd_py import Settings, create_app
import tusd_py.cli.main
app = create_app(Settings(upload_dir={str(tmp_path)!r}))
with TestClient(app) as client:
    assert client.post("/files/", headers={{"Tus-Resumable": "1.0.0", "Upload-Length": "1"}}).status_code == 201
service = app.state.service
wrapped = [name for name in ("create", "append", "head", "terminate") if name in vars(service)]
wrapped += [name for name in ("get_info", "save_info", "open_appender") if name in vars(service.store)]
assert not wrapped, wrapped
assert not [m for m in app.user_middleware if m.cls.__name__ == "TracingMiddleware"]
loaded = sorted(name for name in sys.modules if name.startswith("opentelemetry"))
assert not loaded, loaded
"""
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# -- tusd-py serve --tracing ---------------------------------------------------------------------------------


def test_serve_with_tracing_exports_as_the_otel_variables_say(tmp_path: Path) -> None:
    server = LiveServer(
        tmp_path / "uploads",
        tmp_path / "server.log",
        "--tracing",
        env={"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "uploads-eu"},
    )
    server.start()
    response = httpx.post(server.endpoint, headers={**TUS, "Upload-Length": "1"})
    server.stop()  # the batched spans are written out as the process exits

    log = server.log()
    assert response.status_code == 201
    assert '"name": "POST /files/"' in log
    assert f'"tus.upload.id": "{upload_id(response.headers["location"])}"' in log
    assert '"service.name": "uploads-eu"' in log


def test_serve_refuses_tracing_without_opentelemetry(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker" / "opentelemetry"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('No module named opentelemetry')\n")
    server = LiveServer(tmp_path / "up", tmp_path / "log", "--tracing", env={"PYTHONPATH": str(blocker.parent)})
    with pytest.raises(RuntimeError, match=r"tusd_py\[otel\]"):
        server.start(timeout=10)
