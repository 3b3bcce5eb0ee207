"""With auth on, only discovery (OPTIONS) and the health routes answer without credentials; all else is 401."""

from __future__ import annotations

import pytest

from tests.auth.conftest import Users
from tests.http.tus_client import assert_error, tus_headers


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
async def test_health_routes_answer_without_credentials(users: Users, path: str) -> None:
    assert (await users.stranger.http.get(path)).status_code == 200


async def test_tus_discovery_answers_without_credentials(users: Users) -> None:
    response = await users.stranger.options()

    assert response.status_code == 200
    assert response.headers["Tus-Version"] == "1.0.0"


async def test_a_cors_preflight_answers_without_credentials(users: Users) -> None:
    response = await users.stranger.options(
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    )

    assert response.status_code == 200
    assert "X-API-Key" in response.headers["Access-Control-Allow-Headers"]


ROUTES = [
    ("POST", ""),
    ("GET", ""),
    ("HEAD", "{id}"),
    ("PATCH", "{id}"),
    ("DELETE", "{id}"),
    ("GET", "{id}"),
    ("GET", "{id}/progress"),
    ("GET", "{id}/events"),
    ("GET", "events"),
    ("GET", "batches/holiday"),
    ("GET", "batches/holiday/events"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} B{p}" for m, p in ROUTES])
async def test_every_other_route_needs_credentials(users: Users, method: str, path: str) -> None:
    url = await users.alice.new_upload(5, metadata="batch aG9saWRheQ==")
    target = users.alice.endpoint + path.format(id=url.rsplit("/", 1)[1])
    before = users.alice.stored_bytes(url), users.alice.stored_info(url)

    response = await users.stranger.http.request(method, target, headers=tus_headers(upload_length=5, upload_offset=0))

    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"] == "ApiKey"
    assert (users.alice.stored_bytes(url), users.alice.stored_info(url)) == before


async def test_a_method_override_to_options_does_not_create_an_upload(users: Users) -> None:
    response = await users.stranger.create(5, headers={"X-HTTP-Method-Override": "OPTIONS"})

    assert response.status_code == 200  # it became tus discovery, which is public
    assert "Location" not in response.headers
    assert users.stranger.stored_files() == []
