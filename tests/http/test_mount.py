"""Where the app lives: mounted inside another Starlette app, and behind a proxy; URLs it hands out follow."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from tests.http.conftest import MakeTus
from tests.http.tus_client import TusClient, assert_error, upload_id_of
from tusd_py import Settings, create_app

MountedTus = Callable[..., TusClient]


@pytest.fixture
async def mounted_tus(upload_dir: Path) -> AsyncIterator[MountedTus]:
    """`mounted_tus(base_path="/")`: a client of a host app that mounts tus under /uploads."""
    clients: list[TusClient] = []

    def make(**fields: object) -> TusClient:
        settings = Settings(upload_dir=upload_dir, **fields)  # type: ignore[arg-type]
        host = Starlette(routes=[Mount("/uploads", app=create_app(settings))])
        client = TusClient(host, upload_dir, endpoint="/uploads" + settings.base_path)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


# -- mounted with the default base path ------------------------------------------------------------


async def test_location_carries_the_mount_path(mounted_tus: MountedTus) -> None:
    response = await mounted_tus().create(5)

    assert response.status_code == 201
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc) == ("http", "testserver")
    assert location.path == "/uploads/files/" + upload_id_of(response.headers["Location"])


async def test_options_works_under_the_mount(mounted_tus: MountedTus) -> None:
    response = await mounted_tus().options()

    assert response.status_code == 200
    assert response.headers["Tus-Version"] == "1.0.0"


async def test_head_works_under_the_mount(mounted_tus: MountedTus) -> None:
    tus = mounted_tus()
    url = await tus.new_upload(5)

    response = await tus.head(url)

    assert response.status_code == 200
    assert response.headers["Upload-Offset"] == "0"


async def test_patch_works_under_the_mount(mounted_tus: MountedTus) -> None:
    tus = mounted_tus()
    url = await tus.new_upload(5)

    response = await tus.patch(url, b"hello", offset=0)

    assert response.status_code == 204
    assert tus.stored_bytes(url) == b"hello"


async def test_delete_works_under_the_mount(mounted_tus: MountedTus) -> None:
    tus = mounted_tus()
    url = await tus.new_upload(5)

    response = await tus.delete(url)

    assert response.status_code == 204
    assert (await tus.head(url)).status_code in (404, 410)


async def test_errors_under_the_mount_keep_the_error_contract(mounted_tus: MountedTus) -> None:
    tus = mounted_tus()

    response = await tus.http.post(tus.endpoint, headers={"Upload-Length": "5"})

    assert_error(response, 412)


async def test_concatenation_accepts_relative_urls_with_the_mount_path(mounted_tus: MountedTus) -> None:
    tus = mounted_tus()
    first = await tus.uploaded(b"hello ", concat="partial")
    second = await tus.uploaded(b"world", concat="partial")

    final = await tus.new_upload(concat=f"final;{urlsplit(first).path} {urlsplit(second).path}")

    assert tus.stored_bytes(final) == b"hello world"


async def test_concatenation_accepts_absolute_urls_under_the_mount(mounted_tus: MountedTus) -> None:
    tus = mounted_tus()
    first = await tus.uploaded(b"hello ", concat="partial")
    second = await tus.uploaded(b"world", concat="partial")

    final = await tus.new_upload(concat=f"final;{first} {second}")

    assert (await tus.head(final)).headers["Upload-Concat"] == f"final;{first} {second}"


async def test_concatenation_rejects_a_url_missing_the_mount_path(mounted_tus: MountedTus) -> None:
    tus = mounted_tus()
    part = await tus.uploaded(b"abc", concat="partial")

    response = await tus.create(concat="final;/files/" + upload_id_of(part))

    assert_error(response, 400)


# -- mounted with base path "/" --------------------------------------------------------------------


async def test_with_base_path_root_location_is_the_mount_path_and_the_id(mounted_tus: MountedTus) -> None:
    response = await mounted_tus(base_path="/").create(5)

    assert response.status_code == 201
    location = response.headers["Location"]
    assert location == "http://testserver/uploads/" + upload_id_of(location)


async def test_with_base_path_root_every_route_works_under_the_mount(mounted_tus: MountedTus) -> None:
    tus = mounted_tus(base_path="/")
    url = await tus.new_upload(5)

    assert (await tus.options()).status_code == 200
    assert (await tus.patch(url, b"hello", offset=0)).status_code == 204
    assert (await tus.head(url)).headers["Upload-Offset"] == "5"
    assert (await tus.delete(url)).status_code == 204


async def test_with_base_path_root_concatenation_resolves_relative_urls(mounted_tus: MountedTus) -> None:
    tus = mounted_tus(base_path="/")
    part = await tus.uploaded(b"abc", concat="partial")

    final = await tus.new_upload(concat=f"final;{urlsplit(part).path}")

    assert tus.stored_bytes(final) == b"abc"


# -- another base path, not mounted -----------------------------------------------------------------


async def test_a_custom_base_path_is_where_uploads_live(make_tus: MakeTus) -> None:
    tus = make_tus(base_path="/api/tus")

    response = await tus.create(5)

    assert response.status_code == 201
    assert urlsplit(response.headers["Location"]).path.startswith("/api/tus/")
    assert (await tus.head(response.headers["Location"])).status_code == 200


# -- behind a proxy ---------------------------------------------------------------------------------


async def test_forwarded_headers_are_ignored_unless_behind_a_proxy(tus: TusClient) -> None:
    response = await tus.create(5, headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"})

    assert urlsplit(response.headers["Location"]).netloc == "testserver"


async def test_behind_a_proxy_location_uses_x_forwarded_proto_and_host(make_tus: MakeTus) -> None:
    tus = make_tus(environ={"TUSD_PY_BEHIND_PROXY": "true"})

    response = await tus.create(5, headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "uploads.example"})

    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc) == ("https", "uploads.example")


async def test_behind_a_proxy_location_uses_forwarded(make_tus: MakeTus) -> None:
    tus = make_tus(environ={"TUSD_PY_BEHIND_PROXY": "true"})

    response = await tus.create(5, headers={"Forwarded": 'proto=https;host="uploads.example"'})

    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc) == ("https", "uploads.example")


async def test_behind_a_proxy_concatenation_accepts_the_urls_it_handed_out(make_tus: MakeTus) -> None:
    tus = make_tus(environ={"TUSD_PY_BEHIND_PROXY": "true"})
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "uploads.example"}
    part = (await tus.create(3, concat="partial", body=b"abc", headers=proxied)).headers["Location"]

    response = await tus.create(concat=f"final;{part}", headers=proxied)

    assert response.status_code == 201
