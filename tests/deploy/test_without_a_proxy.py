"""A real server started without --behind-proxy takes no forwarding header from anyone, loopback peers included."""

from __future__ import annotations

import httpx

from tests.support.live_server import LiveServer
from tests.support.tus import TUS


def test_x_forwarded_proto_from_a_loopback_peer_is_ignored(shared_live_server: LiveServer) -> None:
    response = httpx.post(
        shared_live_server.endpoint, headers={**TUS, "Upload-Length": "1", "X-Forwarded-Proto": "https"}
    )

    assert response.status_code == 201, response.text
    assert response.headers["location"].startswith(shared_live_server.endpoint)


def test_x_forwarded_host_and_prefix_from_a_loopback_peer_are_ignored(shared_live_server: LiveServer) -> None:
    headers = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Prefix": "/evil", "Forwarded": "host=evil.example"}
    response = httpx.post(shared_live_server.endpoint, headers={**TUS, "Upload-Length": "1", **headers})

    assert response.status_code == 201, response.text
    assert response.headers["location"].startswith(shared_live_server.endpoint)
