"""The origin in the URLs the server hands out is the one Starlette's `connection.url` tells, read faster."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import HTTPConnection

from tusd_py.http.urls import PublicURLs


def scope(scheme: str, host: bytes | None, server: tuple[str, int] | None, root_path: str = "") -> dict[str, Any]:
    headers = [(b"host", host)] if host is not None else []
    return {"type": "http", "scheme": scheme, "path": "/files/", "root_path": root_path, "headers": headers,
            "server": server, "query_string": b""}  # fmt: skip


@pytest.mark.parametrize(
    "case",
    [
        scope("http", b"example.com:8080", ("10.0.0.1", 80)),
        scope("https", b"example.com", None),
        scope("http", b"[::1]:1080", None),
        scope("https", b"ex/ample?x#y", ("10.0.0.1", 80)),  # an invalid Host header: the server's address
        scope("http", b"a:notaport", ("h", 1)),
        scope("https", None, ("10.0.0.1", 443)),  # default port left out
        scope("http", None, ("10.0.0.1", 8080)),
        scope("ws", None, ("::1", 80)),  # IPv6 address bracketed
        scope("http", None, None),
    ],
    ids=repr,
)
def test_the_origin_is_what_starlette_says(case: dict[str, Any]) -> None:
    connection = HTTPConnection(case)
    url = connection.url
    expected_scheme = {"ws": "http", "wss": "https"}.get(url.scheme, url.scheme)

    origin, prefix = PublicURLs("/files/", behind_proxy=False).origin_and_prefix(connection)

    assert origin == f"{expected_scheme}://{url.netloc}"
    assert prefix == ""


def test_the_mount_path_is_the_prefix() -> None:
    connection = HTTPConnection(scope("http", b"example.com", None, root_path="/uploads/"))

    assert PublicURLs("/files/", behind_proxy=False).upload_url(connection, "abc") == (
        "http://example.com/uploads/files/abc"
    )
