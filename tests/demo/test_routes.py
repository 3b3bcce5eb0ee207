"""The demo page's routes in-process: where it lives, what it serves with which type, and what it never loads."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from tests.support.programs import require_path
from tusd_py import Settings, create_app
from tusd_py.demo import TUS_BUNDLE, UPPY_BUNDLES, DemoPage
from tusd_py.demo.page import STATIC_DIR

Client = Callable[..., httpx.AsyncClient]
ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[\w.-]+""")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    """`client(demo=True, auth=...)`: an httpx client of a fresh in-process app built with those settings."""
    clients: list[httpx.AsyncClient] = []

    def make(app: Any = None, **fields: Any) -> httpx.AsyncClient:
        app = app or create_app(Settings(upload_dir=tmp_path / "uploads", **fields))
        made = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo.test")
        clients.append(made)
        return made

    yield make
    for made in clients:
        await made.aclose()


async def test_the_page_is_served_at_demo_as_html(client: Client) -> None:
    response = await client(demo=True).get("/demo/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<input id="file-input"' in response.text


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("demo.js", "text/javascript; charset=utf-8"), ("demo.css", "text/css; charset=utf-8")],
)
async def test_script_and_style_are_served_with_their_types(client: Client, name: str, content_type: str) -> None:
    response = await client(demo=True).get("/demo/" + name)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == (STATIC_DIR / name).read_bytes()


async def test_the_tus_js_client_bundle_is_served_from_the_npm_install(client: Client) -> None:
    require_path(TUS_BUNDLE, "the demo serves tus-js-client from `npm ci --prefix tusd_py/demo` (make demo)")
    response = await client(demo=True).get("/demo/tus.min.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.content == TUS_BUNDLE.read_bytes()


@pytest.mark.parametrize("path", ["/", "/demo"])
async def test_the_root_and_the_bare_demo_path_redirect_to_the_page(client: Client, path: str) -> None:
    response = await client(demo=True).get(path)
    assert response.status_code == 307
    assert response.headers["location"] == "demo/"  # relative: right under any mount path or proxy prefix


@pytest.mark.parametrize("path", ["/demo/", "/demo/demo.js", "/demo/tus.min.js"])
async def test_without_demo_there_is_no_page(client: Client, path: str) -> None:
    response = await client().get(path)
    assert response.status_code == 404
    assert response.json()["error_code"] == "not_found"


async def test_without_demo_the_root_is_not_redirected(client: Client) -> None:
    assert (await client().get("/")).status_code == 404


async def test_an_unknown_file_under_demo_is_404(client: Client) -> None:
    response = await client(demo=True).get("/demo/secrets.txt")
    assert response.status_code == 404
    assert response.json()["error_code"] == "not_found"


async def test_the_page_answers_only_get_and_head(client: Client) -> None:
    demo = client(demo=True)
    assert (await demo.head("/demo/")).status_code == 200
    response = await demo.post("/demo/", content=b"x")
    assert response.status_code == 405
    assert response.json()["error_code"] == "method_not_allowed"


async def test_the_page_and_its_files_name_no_other_origin(client: Client) -> None:
    demo = client(demo=True)
    for path in ("/demo/", "/demo/demo.js", "/demo/demo.css"):
        text = (await demo.get(path)).text
        assert ABSOLUTE_URL.findall(text) == [], path


async def test_the_page_forbids_loading_anything_from_another_origin(client: Client) -> None:
    response = await client(demo=True).get("/demo/")
    policy = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert response.headers["referrer-policy"] == "no-referrer"  # download links may carry ?token=


async def test_the_page_points_at_the_base_path_relative_to_itself(client: Client) -> None:
    assert 'data-endpoint="../files/"' in (await client(demo=True).get("/demo/")).text
    assert 'data-endpoint="../api/uploads/"' in (await client(demo=True, base_path="api/uploads").get("/demo/")).text


@pytest.mark.parametrize(
    ("auth", "scheme"),
    [
        ({}, ""),
        ({"auth": "api-key", "api_keys": "k1:alice"}, "ApiKey"),
        ({"auth": "jwt", "jwt_secret": "s" * 32}, "Bearer"),
    ],
    ids=["none", "api-key", "jwt"],
)
async def test_the_page_knows_which_credentials_the_server_wants(
    client: Client, auth: dict[str, str], scheme: str
) -> None:
    assert f'data-auth-scheme="{scheme}"' in (await client(demo=True, **auth).get("/demo/")).text


async def test_with_auth_on_the_page_loads_without_credentials_and_uploads_still_need_them(client: Client) -> None:
    demo = client(demo=True, auth="api-key", api_keys="k1:alice")
    for path in ("/demo/", "/demo/demo.js", "/demo/demo.css"):
        assert (await demo.get(path)).status_code == 200, path
    assert (await demo.get("/files/")).status_code == 401
    assert (await demo.get("/files/", headers={"X-API-Key": "k1"})).status_code == 200


async def test_with_uploads_at_the_root_the_root_stays_theirs(client: Client) -> None:
    demo = client(demo=True, base_path="/")
    response = await demo.get("/", headers={"Tus-Resumable": "1.0.0"})
    assert response.status_code == 200
    assert "uploads" in response.json()
    assert (await demo.get("/demo/")).status_code == 200


async def test_under_a_mount_path_the_page_and_its_redirect_stay_under_it(client: Client, tmp_path: Path) -> None:
    tus_app = create_app(Settings(upload_dir=tmp_path / "uploads", demo=True))
    demo = client(Starlette(routes=[Mount("/uploads", tus_app)]))
    redirect = await demo.get("/uploads/")
    assert redirect.status_code == 307
    assert str(redirect.url.join(redirect.headers["location"])) == "http://demo.test/uploads/demo/"
    page = await demo.get("/uploads/demo/")
    assert page.status_code == 200
    assert 'data-endpoint="../files/"' in page.text  # from /uploads/demo/: /uploads/files/


def test_a_base_path_under_the_page_is_refused() -> None:
    with pytest.raises(ValueError, match="demo: the page lives at /demo/"):
        Settings(demo=True, base_path="/demo/files/")


async def test_without_the_bundle_the_page_says_how_to_install_it(
    client: Client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    inner = create_app(Settings(upload_dir=tmp_path / "uploads"))
    with caplog.at_level(logging.WARNING, logger="tusd_py.demo"):
        demo = client(DemoPage(inner, "/files/", tus_bundle=tmp_path / "not-installed" / "tus.min.js"))
        page = await demo.get("/demo/")
        bundle = await demo.get("/demo/tus.min.js")

    assert re.search(r'<div id="install-notice"[^>]*role="alert"\s*>', page.text)  # no `hidden`
    assert 'data-tus="missing"' in page.text
    assert "npm ci --prefix tusd_py/demo" in page.text
    assert bundle.status_code == 404
    assert bundle.headers["content-type"].startswith("text/javascript")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("tus-js-client is missing" in w and "npm ci --prefix" in w for w in warnings)


async def test_with_the_bundle_the_install_notice_is_hidden(client: Client) -> None:
    require_path(TUS_BUNDLE, "the demo serves tus-js-client from `npm ci --prefix tusd_py/demo` (make demo)")
    page = (await client(demo=True).get("/demo/")).text
    assert re.search(r'<div id="install-notice"[^>]*\shidden\s*>', page)
    assert 'data-tus="installed"' in page


async def test_the_uppy_page_is_served_beside_the_plain_one(client: Client) -> None:
    demo = client(demo=True)
    response = await demo.get("/demo/uppy.html")
    assert response.status_code == 200
    assert '<div id="uppy-dashboard">' in response.text
    assert 'data-endpoint="../files/"' in response.text
    assert 'href="uppy.html"' in (await demo.get("/demo/")).text
    for path in ("/demo/uppy.html", "/demo/uppy-demo.js"):
        assert ABSOLUTE_URL.findall((await demo.get(path)).text) == [], path


async def test_the_uppy_page_lets_only_its_own_origin_and_blob_thumbnails_in(client: Client) -> None:
    response = await client(demo=True).get("/demo/uppy.html")
    policy = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    assert (policy["default-src"], policy["script-src"], policy["style-src"]) == ("'none'", "'self'", "'self'")
    assert policy["img-src"] == "'self' data: blob:"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("name", list(UPPY_BUNDLES))
async def test_uppys_bundle_and_style_are_served_from_the_npm_install(client: Client, name: str) -> None:
    file, content_type = UPPY_BUNDLES[name]
    require_path(file, "the demo serves Uppy from `npm ci --prefix tusd_py/demo` (make demo)")
    response = await client(demo=True).get("/demo/" + name)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.content == file.read_bytes()


@pytest.mark.parametrize("path", ["/demo/uppy.html", "/demo/uppy.min.js", "/demo/uppy-demo.js"])
async def test_without_demo_there_is_no_uppy_page(client: Client, path: str) -> None:
    assert (await client(demo=False).get(path)).status_code == 404
