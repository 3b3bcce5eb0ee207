"""With behind_proxy, the URLs tusd_py hands out follow what the proxy says the client used; nothing else does.

In-process (httpx over ASGI): the app sees the request exactly as a proxy would pass it on, at its own root.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from tusd_py import Settings, create_app

# The address the proxy talks to; what a Location shows when no forwarding header is taken.
INTERNAL = "http://tusd.internal:1080"
INTERNAL_COLLECTION = INTERNAL + "/files/"
PUBLIC = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "uploads.example.com", "X-Forwarded-Prefix": "/uploads"}
PUBLIC_COLLECTION = "https://uploads.example.com/uploads/files/"
TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_BODY = {**TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}

Headers = Mapping[str, str] | Sequence[tuple[str, str]]
MakeClient = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def make_client(tmp_path: Path) -> AsyncIterator[MakeClient]:
    """`make_client(behind_proxy=False)`: a client of a fresh app; `mount` puts the app under that path."""
    clients: list[httpx.AsyncClient] = []

    def make(behind_proxy: bool = True, mount: str | None = None) -> httpx.AsyncClient:
        app: Any = create_app(Settings(upload_dir=tmp_path / "uploads", behind_proxy=behind_proxy))
        if mount is not None:
            app = Starlette(routes=[Mount(mount, app=app)])
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=INTERNAL)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def proxied(make_client: MakeClient) -> httpx.AsyncClient:
    return make_client()


async def create(
    client: httpx.AsyncClient, headers: Headers = (), *, tus: dict[str, str] | None = None, path: str = "/files/"
) -> httpx.Response:
    """POST a creation: `tus` holds its tus headers (a 3-byte upload by default), `headers` what the proxy adds."""
    creation = {"Upload-Length": "3"} if tus is None else tus
    return await client.post(path, headers=[*TUS.items(), *creation.items(), *_items(headers)])


async def location(
    client: httpx.AsyncClient, headers: Headers = (), *, tus: dict[str, str] | None = None, path: str = "/files/"
) -> str:
    response = await create(client, headers, tus=tus, path=path)
    assert response.status_code == 201, response.text
    return str(response.headers["location"])


def collection(url: str) -> str:
    """The URL without the upload id: what forwarding headers decide."""
    return url.rsplit("/", 1)[0] + "/"


def upload_id(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _items(headers: Headers) -> list[tuple[str, str]]:
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers)


# -- which headers say what -----------------------------------------------------------------------


async def test_without_forwarding_headers_location_uses_the_request_host(proxied: httpx.AsyncClient) -> None:
    assert collection(await location(proxied)) == INTERNAL_COLLECTION


async def test_x_forwarded_proto_host_and_prefix_make_the_public_location(proxied: httpx.AsyncClient) -> None:
    assert collection(await location(proxied, PUBLIC)) == PUBLIC_COLLECTION


async def test_forwarded_proto_and_host_make_the_public_location(proxied: httpx.AsyncClient) -> None:
    headers = {"Forwarded": "for=192.0.2.7;proto=https;host=uploads.example.com"}

    assert collection(await location(proxied, headers)) == "https://uploads.example.com/files/"


async def test_forwarded_wins_over_x_forwarded_proto_and_host(proxied: httpx.AsyncClient) -> None:
    headers = {**PUBLIC, "Forwarded": "proto=http;host=public.example"}

    assert collection(await location(proxied, headers)) == "http://public.example/uploads/files/"


async def test_quoted_forwarded_values_are_unquoted(proxied: httpx.AsyncClient) -> None:
    headers = {"Forwarded": 'proto="https";host="[2001:db8::1]:8443"'}

    assert collection(await location(proxied, headers)) == "https://[2001:db8::1]:8443/files/"


async def test_forwarded_names_and_the_scheme_are_case_insensitive(proxied: httpx.AsyncClient) -> None:
    headers = {"Forwarded": "Proto=HTTPS;Host=uploads.example.com"}

    assert collection(await location(proxied, headers)) == "https://uploads.example.com/files/"


async def test_a_prefix_with_a_trailing_slash_adds_no_empty_segment(proxied: httpx.AsyncClient) -> None:
    headers = {**PUBLIC, "X-Forwarded-Prefix": "/uploads/"}

    assert collection(await location(proxied, headers)) == PUBLIC_COLLECTION


async def test_the_forwarded_prefix_comes_before_the_mount_path(make_client: MakeClient) -> None:
    client = make_client(mount="/tus")

    url = await location(client, PUBLIC, path="/tus/files/")

    assert collection(url) == "https://uploads.example.com/uploads/tus/files/"


# -- only the first hop counts ------------------------------------------------------------------------


async def test_only_the_first_forwarded_element_counts(proxied: httpx.AsyncClient) -> None:
    headers = {"Forwarded": "proto=https;host=first.example, proto=http;host=second.example"}

    assert collection(await location(proxied, headers)) == "https://first.example/files/"


@pytest.mark.parametrize(
    "headers",
    [
        {
            "X-Forwarded-Proto": "https, http",
            "X-Forwarded-Host": "first.example, second.example",
            "X-Forwarded-Prefix": "/first, /second",
        },
        [
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Proto", "http"),
            ("X-Forwarded-Host", "first.example"),
            ("X-Forwarded-Host", "second.example"),
            ("X-Forwarded-Prefix", "/first"),
            ("X-Forwarded-Prefix", "/second"),
        ],
    ],
    ids=["comma-separated", "repeated-lines"],
)
async def test_only_the_first_x_forwarded_value_counts(proxied: httpx.AsyncClient, headers: Headers) -> None:
    assert collection(await location(proxied, headers)) == "https://first.example/first/files/"


# -- odd values are dropped, never echoed ---------------------------------------------------------


MALFORMED_HOSTS = [
    "evil.example/path",
    "user@evil.example",
    "evil.example:port",
    "evil.example:123456",
    "evil example",
    "evil.example\\",
    "-evil.example",
    "<script>",
    "[not-ipv6]",
]


@pytest.mark.parametrize("host", MALFORMED_HOSTS)
async def test_a_malformed_x_forwarded_host_is_ignored(proxied: httpx.AsyncClient, host: str) -> None:
    assert collection(await location(proxied, {"X-Forwarded-Host": host})) == INTERNAL_COLLECTION


@pytest.mark.parametrize("host", MALFORMED_HOSTS)
async def test_a_malformed_forwarded_host_is_ignored(proxied: httpx.AsyncClient, host: str) -> None:
    headers = {"Forwarded": f'host="{host}"'}

    assert collection(await location(proxied, headers)) == INTERNAL_COLLECTION


@pytest.mark.parametrize("proto", ["javascript", "ftp", "https://evil.example", "http s", ""])
async def test_a_malformed_proto_is_ignored(proxied: httpx.AsyncClient, proto: str) -> None:
    url = await location(proxied, [("X-Forwarded-Proto", proto), ("Forwarded", f"proto={proto}")])

    assert collection(url) == INTERNAL_COLLECTION


MALFORMED_PREFIXES = ["uploads", "//evil.example", "/a//b", "/a b", "/a?b=1", "/a#b", "/a\\b", "/<script>"]


@pytest.mark.parametrize("prefix", MALFORMED_PREFIXES)
async def test_a_malformed_prefix_is_ignored(proxied: httpx.AsyncClient, prefix: str) -> None:
    assert collection(await location(proxied, {"X-Forwarded-Prefix": prefix})) == INTERNAL_COLLECTION


# -- not behind a proxy -------------------------------------------------------------------------------


async def test_without_behind_proxy_every_forwarding_header_is_ignored(make_client: MakeClient) -> None:
    client = make_client(behind_proxy=False)
    headers = {**PUBLIC, "Forwarded": "proto=https;host=uploads.example.com"}

    assert collection(await location(client, headers)) == INTERNAL_COLLECTION


# -- the URLs come back: concatenation ------------------------------------------------------------------


async def partial_upload(client: httpx.AsyncClient, body: bytes) -> str:
    """A finished partial upload, created and filled through the proxy; its public URL."""
    url = await location(client, PUBLIC, tus={"Upload-Concat": "partial", "Upload-Length": str(len(body))})
    response = await client.patch(f"/files/{upload_id(url)}", content=body, headers={**OFFSET_BODY, **PUBLIC})
    assert response.status_code == 204, response.text
    return url


async def test_a_final_upload_accepts_its_partials_public_absolute_urls(proxied: httpx.AsyncClient) -> None:
    first, second = await partial_upload(proxied, b"abc"), await partial_upload(proxied, b"def")

    created = await create(proxied, PUBLIC, tus={"Upload-Concat": f"final;{first} {second}"})

    assert created.status_code == 201, created.text
    final_url = created.headers["location"]
    assert collection(final_url) == PUBLIC_COLLECTION
    download = await proxied.get(f"/files/{upload_id(final_url)}")
    assert download.content == b"abcdef"


async def test_a_final_upload_accepts_its_partials_public_paths(proxied: httpx.AsyncClient) -> None:
    first, second = await partial_upload(proxied, b"abc"), await partial_upload(proxied, b"def")
    paths = [httpx.URL(url).path for url in (first, second)]

    created = await create(proxied, PUBLIC, tus={"Upload-Concat": f"final;{paths[0]} {paths[1]}"})

    assert created.status_code == 201, created.text
    assert (await proxied.get(f"/files/{upload_id(created.headers['location'])}")).content == b"abcdef"


async def test_a_final_upload_refuses_a_partial_url_on_another_host(proxied: httpx.AsyncClient) -> None:
    first = await partial_upload(proxied, b"abc")
    elsewhere = first.replace("uploads.example.com", "other.example", 1)

    created = await create(proxied, PUBLIC, tus={"Upload-Concat": f"final;{elsewhere}"})

    assert created.status_code == 400
    assert created.json()["error_code"] == "invalid_concat_url"


async def test_a_final_uploads_head_names_its_partials_by_public_url(proxied: httpx.AsyncClient) -> None:
    first, second = await partial_upload(proxied, b"abc"), await partial_upload(proxied, b"def")
    final_url = (await create(proxied, PUBLIC, tus={"Upload-Concat": f"final;{first} {second}"})).headers["location"]

    head = await proxied.head(f"/files/{upload_id(final_url)}", headers={**TUS, **PUBLIC})

    assert head.headers["upload-concat"] == f"final;{first} {second}"
