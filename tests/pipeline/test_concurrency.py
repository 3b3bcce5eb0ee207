"""Bounded concurrency: at most --pipeline-concurrency uploads are processed at once; the rest wait their turn."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from tests.events.clients import create, upload
from tests.pipeline.conftest import pipeline_server
from tests.support.live_server import LiveServer
from tests.support.tus import upload_id
from tests.support.waiting import eventually

pytestmark = pytest.mark.stores("file", "s3")  # the pipeline reads a finished upload from either store


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def status_of(http: httpx.AsyncClient, url: str) -> str:
    status: str = (await http.get(f"{url}/progress")).json()["status"]
    return status


async def all_processed(http: httpx.AsyncClient, urls: list[str]) -> bool:
    return all(await asyncio.gather(*(status_of_is(http, url, "processed") for url in urls)))


async def status_of_is(http: httpx.AsyncClient, url: str, status: str) -> bool:
    return await status_of(http, url) == status


@pytest.fixture
def serving(tmp_path: Path, store_kind: str, request: pytest.FixtureRequest) -> Callable[[str, int], LiveServer]:
    """`serving(stage, concurrency)`: a started server running that one stage of tests/pipeline/stages.py."""

    def start(stage: str, concurrency: int) -> LiveServer:
        spec = f"{stage}=tests.pipeline.stages:{stage}"
        args = ("--pipeline", spec, "--pipeline-concurrency", str(concurrency))
        return pipeline_server(tmp_path, *args, store_kind=store_kind, request=request)

    return start


async def test_with_a_concurrency_of_one_stages_never_overlap(
    http: httpx.AsyncClient, tmp_path: Path, serving: Callable[[str, int], LiveServer]
) -> None:
    server = serving("timed", 1)
    try:
        urls = [await create(http, server, 3, {"filename": f"{n}.txt"}) for n in range(3)]
        await asyncio.gather(*(upload(http, url, b"abc") for url in urls))  # all three complete at once

        await eventually(lambda: all_processed(http, urls), timeout=10)
    finally:
        server.stop()

    runs = [json.loads(line) for line in (tmp_path / "shared" / "runs.jsonl").read_text().splitlines()]
    assert sorted(run["id"] for run in runs) == sorted(upload_id(url) for url in urls)
    runs.sort(key=lambda run: run["start"])
    for earlier, later in itertools.pairwise(runs):
        assert later["start"] >= earlier["end"], (earlier, later)


async def test_uploads_beyond_the_concurrency_wait_for_a_free_worker(
    http: httpx.AsyncClient, tmp_path: Path, serving: Callable[[str, int], LiveServer]
) -> None:
    server = serving("gate", 2)
    shared = tmp_path / "shared"
    try:
        urls = [await create(http, server, 3, {"filename": f"{n}.txt"}) for n in range(3)]
        for url in urls:
            await upload(http, url, b"abc")

        def started() -> list[str]:
            return [url for url in urls if (shared / f"started-{upload_id(url)}").exists()]

        async def started_count(count: int) -> bool:
            return len(started()) == count

        await eventually(lambda: started_count(2))
        [waiting] = [url for url in urls if url not in started()]
        assert await status_of(http, waiting) == "processing"  # pending counts as processing to clients
        assert (await http.get(f"{waiting}/progress")).json()["processing"] == {"status": "pending"}

        (shared / f"release-{upload_id(started()[0])}").touch()  # one worker comes free

        await eventually(lambda: started_count(3))
        for url in urls:
            (shared / f"release-{upload_id(url)}").touch()
        await eventually(lambda: all_processed(http, urls))
    finally:
        server.stop()
