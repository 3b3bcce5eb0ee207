"""The FastAPI embedding example works as its docstring says: tus under /uploads, the app's own routes beside it."""

from __future__ import annotations

import importlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import httpx
import pytest

from tusd_py.protocol.metadata import format_metadata

EXAMPLE = "examples.embed_fastapi"
TUS = {"Tus-Resumable": "1.0.0"}
APPEND = {**TUS, "Content-Type": "application/offset+octet-stream"}


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The example freshly imported in an empty directory, where it keeps its uploads."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, EXAMPLE, raising=False)
    return importlib.import_module(EXAMPLE)


@pytest.fixture
async def client(example: ModuleType) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=example.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def create(client: httpx.AsyncClient, length: int, **headers: str) -> str:
    response = await client.post("/uploads/files/", headers={**TUS, "Upload-Length": str(length), **headers})
    assert response.status_code == 201, (response.status_code, response.text)
    return response.headers["Location"]


async def uploaded(client: httpx.AsyncClient, data: bytes, **headers: str) -> str:
    location = await create(client, len(data), **headers)
    response = await client.patch(location, content=data, headers={**APPEND, "Upload-Offset": "0"})
    assert response.status_code == 204, (response.status_code, response.text)
    return location


async def test_the_apps_own_json_route_names_the_upload_endpoint(client: httpx.AsyncClient) -> None:
    response = await client.get("/")

    assert response.status_code == 200
    assert response.json() == {"upload_endpoint": "http://testserver/uploads/files/"}


async def test_fastapi_keeps_serving_its_openapi_schema(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    assert "/" in response.json()["paths"]


async def test_discovery_works_through_the_mount(client: httpx.AsyncClient) -> None:
    response = await client.options("/uploads/files/")

    assert response.status_code == 200
    assert response.headers["Tus-Version"] == "1.0.0"


async def test_location_carries_the_mount_path(client: httpx.AsyncClient) -> None:
    location = urlsplit(await create(client, 5))

    assert (location.scheme, location.netloc) == ("http", "testserver")
    assert location.path.startswith("/uploads/files/")
    assert len(location.path) > len("/uploads/files/")


async def test_patch_through_the_mount_stores_the_bytes(client: httpx.AsyncClient, tmp_path: Path) -> None:
    location = await create(client, 5)

    response = await client.patch(location, content=b"hello", headers={**APPEND, "Upload-Offset": "0"})

    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == "5"
    assert (tmp_path / "data/fastapi" / location.rsplit("/", 1)[1]).read_bytes() == b"hello"


async def test_head_through_the_mount_reports_the_offset(client: httpx.AsyncClient) -> None:
    location = await create(client, 10)
    await client.patch(location, content=b"abc", headers={**APPEND, "Upload-Offset": "0"})

    response = await client.head(location, headers=TUS)

    assert response.status_code == 200
    assert (response.headers["Upload-Offset"], response.headers["Upload-Length"]) == ("3", "10")


async def test_a_finished_upload_downloads_through_the_mount(client: httpx.AsyncClient) -> None:
    metadata = format_metadata({"filename": "hello.txt", "filetype": "text/plain"})
    location = await uploaded(client, b"hello world", **{"Upload-Metadata": metadata})

    response = await client.get(location)

    assert response.status_code == 200
    assert response.content == b"hello world"
    assert response.headers["Content-Type"] == "text/plain"
    assert response.headers["Content-Disposition"] == "inline; filename=\"hello.txt\"; filename*=UTF-8''hello.txt"


async def test_a_range_downloads_through_the_mount(client: httpx.AsyncClient) -> None:
    location = await uploaded(client, b"hello world")

    response = await client.get(location, headers={"Range": "bytes=6-"})

    assert response.status_code == 206
    assert response.headers["Content-Range"] == "bytes 6-10/11"
    assert response.content == b"world"


async def test_concatenation_accepts_the_urls_handed_out_under_the_mount(client: httpx.AsyncClient) -> None:
    first = await uploaded(client, b"hello ", **{"Upload-Concat": "partial"})
    second = await uploaded(client, b"world", **{"Upload-Concat": "partial"})

    final = await client.post("/uploads/files/", headers={**TUS, "Upload-Concat": f"final;{first} {second}"})

    assert final.status_code == 201
    assert (await client.get(final.headers["Location"])).content == b"hello world"


async def test_delete_through_the_mount_removes_the_upload(client: httpx.AsyncClient) -> None:
    location = await uploaded(client, b"abc")

    response = await client.delete(location, headers=TUS)

    assert response.status_code == 204
    assert (await client.get(location)).status_code in (404, 410)


async def test_a_path_outside_both_apps_is_fastapis_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
