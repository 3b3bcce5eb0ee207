"""What an import request is refused for, each with its own error_code, before anything is created."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.imports.sources import SourceServer
from tusd_py import create_app
from tusd_py.settings import Settings


@pytest.fixture
async def app_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(upload_dir=tmp_path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


async def refusal(client: httpx.AsyncClient, body: object = None, content: bytes | None = None) -> tuple[int, str]:
    if content is not None:
        response = await client.post("/files/imports", content=content, headers={"Content-Type": "application/json"})
    else:
        response = await client.post("/files/imports", json=body)
    assert response.headers["content-type"] == "application/json"
    return response.status_code, response.json()["error_code"]


async def test_loopback_is_refused_without_import_allow(
    http: httpx.AsyncClient, tmp_path: Path, source: SourceServer
) -> None:
    from tests.support.live_server import start_live

    server = start_live(tmp_path)
    try:
        fetched_before = len(source.requests_to("/file.bin"))
        response = await http.post(server.endpoint + "imports", json={"url": source.base_url + "/file.bin"})
        assert response.status_code == 403
        assert response.json()["error_code"] == "import_address_refused"
        assert response.json()["details"]["range"] == "loopback"
        assert len(source.requests_to("/file.bin")) == fetched_before  # not even connected to
        listing = (await http.get(server.endpoint)).json()
        assert listing["total"] == 0
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("http://169.254.169.254/latest/meta-data/", 403, "import_address_refused"),
        ("http://10.1.2.3/x", 403, "import_address_refused"),
        ("http://[::1]:8080/x", 403, "import_address_refused"),
        ("http://[::ffff:127.0.0.1]/x", 403, "import_address_refused"),
        ("http://0.0.0.0/x", 403, "import_address_refused"),
        ("ftp://example.com/x", 400, "import_scheme_refused"),
        ("file:///etc/passwd", 400, "import_scheme_refused"),
        ("http://user:secret@example.com/x", 400, "import_credentials_refused"),
        ("http:///no-host", 400, "invalid_url"),
        ("http://host.invalid/x", 400, "import_host_unknown"),
    ],
)
async def test_each_refused_url_has_its_own_error_code(
    app_client: httpx.AsyncClient, url: str, status: int, code: str
) -> None:
    assert await refusal(app_client, {"url": url}) == (status, code)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "missing_url"),
        ({"url": ""}, "missing_url"),
        ({"url": 5}, "invalid_field"),
        ({"url": "http://example.com/", "extra": 1}, "unknown_field"),
        ({"url": "http://example.com/", "metadata": {"a": 1}}, "invalid_field"),
        ({"url": "http://example.com/", "filename": ""}, "invalid_field"),
        ([1, 2], "invalid_json"),
    ],
)
async def test_a_bad_request_is_a_400_json_error(app_client: httpx.AsyncClient, body: object, code: str) -> None:
    assert await refusal(app_client, body) == (400, code)


async def test_a_body_that_is_not_json_is_a_400(app_client: httpx.AsyncClient) -> None:
    assert await refusal(app_client, content=b"{not json") == (400, "invalid_json")
    assert await refusal(app_client, content=b"\xff\xfe") == (400, "invalid_json")


async def test_imports_false_turns_the_route_off(tmp_path: Path) -> None:
    app = create_app(Settings(upload_dir=tmp_path, imports=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        assert await refusal(client, {"url": "http://example.com/"}) == (404, "imports_disabled")


async def test_imports_need_authentication_and_count_against_the_rate_limit(tmp_path: Path) -> None:
    settings = Settings(upload_dir=tmp_path, auth="api-key", api_keys="k1:alice", rate_limit=0.001, rate_burst=1)
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        anonymous = await client.post("/files/imports", json={"url": "http://10.0.0.1/"})
        assert anonymous.status_code == 401
        keyed = await client.post("/files/imports", json={"url": "http://10.0.0.1/"}, headers={"X-API-Key": "k1"})
        assert keyed.json()["error_code"] == "import_address_refused"  # past auth, refused by the policy
        again = await client.post("/files/imports", json={"url": "http://10.0.0.1/"}, headers={"X-API-Key": "k1"})
        assert (again.status_code, again.json()["error_code"]) == (429, "rate_limited")
