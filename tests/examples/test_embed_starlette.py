"""The Starlette embedding example works as its docstring says."""

from __future__ import annotations

import importlib
from pathlib import Path

import httpx
import pytest


async def test_the_starlette_example_serves_tus_under_its_mount(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    example = importlib.import_module("examples.embed_starlette")
    transport = httpx.ASGITransport(app=example.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        endpoint = (await client.get("/")).json()["upload_endpoint"]
        assert endpoint == "http://testserver/uploads/files/"
        created = await client.post(endpoint, headers={"Tus-Resumable": "1.0.0", "Upload-Length": "3"})
        location = created.headers["location"]
        assert location.startswith("http://testserver/uploads/files/")
        patched = await client.patch(
            location,
            content=b"abc",
            headers={"Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        )
        assert patched.status_code == 204
    assert (tmp_path / "data/embedded" / location.rsplit("/", 1)[1]).read_bytes() == b"abc"
