"""`python -m benchmarks.tracing_cost`: what tracing costs per request, in-process (no sockets), off and on.

Each round sends the same requests into the ASGI app through httpx's in-process transport (a creation, a 4 KiB
PATCH that completes it, a HEAD), to an app with tracing off and to one with it on (the SDK, every span sampled,
batched to an exporter that drops them), rounds alternating; it prints the CPU time per request of each one's
least disturbed round. Uploads go to a temporary directory (page cache)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from starlette.types import ASGIApp

from tusd_py import Settings, create_app

ROUNDS = 15
UPLOADS_PER_ROUND = 100
BODY = bytes(4096)


async def one_upload(client: httpx.AsyncClient) -> None:
    tus = {"Tus-Resumable": "1.0.0"}
    created = await client.post("/files/", headers={**tus, "Upload-Length": str(len(BODY))})
    path = "/files/" + created.headers["location"].rsplit("/", 1)[1]
    patch_headers = {**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    assert (await client.patch(path, content=BODY, headers=patch_headers)).status_code == 204
    assert (await client.head(path, headers=tus)).status_code == 200


async def per_request_us(apps: dict[str, ASGIApp]) -> dict[str, float]:
    """CPU time (of the whole process, the span exporter's thread included) per request, for each app; their
    rounds alternate, so a machine busy with other work weighs on both alike."""
    clients = {
        name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:1080")
        for name, app in apps.items()
    }
    rounds: dict[str, list[float]] = {name: [] for name in apps}
    for client in clients.values():
        await one_upload(client)  # the first request starts the background work
    for _ in range(ROUNDS):
        for name, client in clients.items():
            started = time.process_time()
            for _ in range(UPLOADS_PER_ROUND):
                await one_upload(client)
            rounds[name].append((time.process_time() - started) / (UPLOADS_PER_ROUND * 3) * 1e6)
    for client in clients.values():
        await client.aclose()
    return {name: min(times) for name, times in rounds.items()}  # the least disturbed round of each


def traced_provider() -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Dropping(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Dropping()))
    return provider


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        off = create_app(Settings.from_env({}, upload_dir=Path(directory) / "off"))
        on = create_app(Settings.from_env({}, upload_dir=Path(directory) / "on"), tracer_provider=traced_provider())
        figures = asyncio.run(per_request_us({"off": off, "on": on}))
    for name, figure in figures.items():
        rounds = f"best of {ROUNDS} rounds of {UPLOADS_PER_ROUND * 3} requests"
        print(f"tracing {name}: {figure:.1f} us of CPU per request ({rounds})")
    print(f"tracing on costs {figures['on'] - figures['off']:.1f} us of CPU per request")


if __name__ == "__main__":
    main()
