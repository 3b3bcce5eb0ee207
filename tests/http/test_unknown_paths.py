"""Paths under the base that name no upload (dot segments, encoded slashes, trailing slashes) are unknown uploads:
404 with the JSON body, never a redirect."""

from __future__ import annotations

import json

import pytest

from tests.support.live_server import LiveServer
from tests.support.raw_http import RawRequest

ODD_PATHS = [
    "..%2f",
    "..%2F",
    "%2e%2e/",
    "%2E%2E%2F",
    ".%2e/",
    "%2e./",
    "..%5c",
    "%2f",
    "%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "abc/",
    "abc%2f",
    "abc/def/",
    "/",
]


@pytest.mark.parametrize("method", ["GET", "HEAD", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ODD_PATHS)
def test_a_path_naming_no_upload_is_404_upload_not_found_never_a_redirect(
    shared_live_server: LiveServer, path: str, method: str
) -> None:
    request = RawRequest(
        shared_live_server.port,
        method,
        shared_live_server.base_path + path,
        {"Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Length": "0", "Connection": "close"},
    )
    try:
        status, headers, body = request.response(timeout=10)
    finally:
        request.close()

    assert status == 404, (status, headers.get("location"))
    assert "location" not in headers
    if method != "HEAD":
        assert json.loads(body)["error_code"] == "upload_not_found"


@pytest.mark.parametrize("path", ODD_PATHS)
def test_options_on_any_path_under_the_base_is_never_a_redirect(shared_live_server: LiveServer, path: str) -> None:
    """OPTIONS of one path segment is discovery, as on any upload URL; deeper paths are unknown uploads."""
    server = shared_live_server
    request = RawRequest(server.port, "OPTIONS", server.base_path + path, {"Connection": "close"})
    try:
        status, headers, _ = request.response(timeout=10)
    finally:
        request.close()

    assert status in (200, 404) and "location" not in headers
