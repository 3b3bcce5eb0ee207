"""X-Request-ID: a sane one from the client is echoed; otherwise the server makes one up and answers with it."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.lifecycle.live import create, http
from tests.support.live_server import LiveServer
from tests.support.tus import OFFSET_BODY, TUS

SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@pytest.fixture
def server(ops_server: LiveServer) -> LiveServer:
    return ops_server


def request_kinds(server: LiveServer) -> dict[str, httpx.Request]:
    url = create(server.endpoint, 10)
    return {
        "OPTIONS": httpx.Request("OPTIONS", server.endpoint),
        "POST": httpx.Request("POST", server.endpoint, headers={**TUS, "Upload-Length": "5"}),
        "HEAD": httpx.Request("HEAD", url, headers=TUS),
        "PATCH": httpx.Request("PATCH", url, content=b"abc", headers={**OFFSET_BODY, "Upload-Offset": "0"}),
        "error": httpx.Request("HEAD", server.endpoint + "0123456789abcdef0123456789abcdef", headers=TUS),
        "healthz": httpx.Request("GET", server.base_url + "/healthz"),
    }


@pytest.mark.parametrize("kind", ["OPTIONS", "POST", "HEAD", "PATCH", "error", "healthz"])
def test_a_sane_client_request_id_is_echoed(server: LiveServer, kind: str) -> None:
    request = request_kinds(server)[kind]
    request.headers["X-Request-ID"] = f"client-{kind}:42.a_b"

    response = http.send(request)

    assert response.headers["x-request-id"] == f"client-{kind}:42.a_b"


def test_a_request_id_is_made_up_when_the_client_sends_none(server: LiveServer) -> None:
    response = http.get(server.base_url + "/healthz")

    assert SANE.fullmatch(response.headers["x-request-id"])


def test_made_up_request_ids_differ_from_request_to_request(server: LiveServer) -> None:
    ids = {http.get(server.base_url + "/healthz").headers["x-request-id"] for _ in range(5)}

    assert len(ids) == 5


@pytest.mark.parametrize(
    "insane",
    ["a" * 500, "has spaces in it", "semi;colon", "quote\"d", "<script>"],
    ids=["500-chars", "spaces", "semicolon", "quote", "markup"],
)
def test_an_insane_client_request_id_is_replaced_by_a_made_up_one(server: LiveServer, insane: str) -> None:
    response = http.get(server.base_url + "/healthz", headers={"X-Request-ID": insane})

    echoed = response.headers["x-request-id"]
    assert echoed != insane
    assert SANE.fullmatch(echoed)


def test_a_response_carries_exactly_one_request_id(server: LiveServer) -> None:
    response = http.get(server.base_url + "/healthz", headers={"X-Request-ID": "only-once"})

    assert response.headers.get_list("x-request-id") == ["only-once"]
