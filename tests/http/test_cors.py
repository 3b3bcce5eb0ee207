"""CORS: browser preflights answered, tus headers exposed, only allowed origins served, exact origin echoed."""

from __future__ import annotations

import httpx
import pytest

from tests.http.conftest import MakeTus
from tests.http.tus_client import TusClient, tus_headers

APP = "https://app.example"
OTHER_APP = "https://other.example"
STRANGER = "https://stranger.example"

ALLOW_METHODS = {"POST", "HEAD", "PATCH", "OPTIONS", "GET", "DELETE"}
ALLOW_HEADERS = {
    "Authorization", "Origin", "X-Requested-With", "X-Request-ID", "X-HTTP-Method-Override", "Content-Type",
    "Upload-Length", "Upload-Offset", "Tus-Resumable", "Upload-Metadata", "Upload-Defer-Length", "Upload-Concat",
    "Upload-Checksum", "Upload-Complete", "Upload-Draft-Interop-Version", "X-API-Key",
}  # fmt: skip
EXPOSE_HEADERS = {
    "Location", "Upload-Offset", "Upload-Length", "Tus-Version", "Tus-Resumable", "Tus-Max-Size", "Tus-Extension",
    "Tus-Checksum-Algorithm", "Upload-Metadata", "Upload-Defer-Length", "Upload-Concat", "Upload-Expires",
    "Upload-Complete", "Upload-Limit", "Upload-Draft-Interop-Version",
}  # fmt: skip


def header_set(response: httpx.Response, name: str) -> set[str]:
    return {item.strip().lower() for item in response.headers.get(name, "").split(",") if item.strip()}


def lowered(names: set[str]) -> set[str]:
    return {name.lower() for name in names}


@pytest.fixture
def cors_tus(make_tus: MakeTus) -> TusClient:
    """An app allowing two browser origins."""
    return make_tus(environ={"TUSD_PY_CORS_ORIGINS": f"{APP},{OTHER_APP}"})


async def preflight(tus: TusClient, origin: str, method: str = "POST") -> httpx.Response:
    return await tus.http.options(
        tus.endpoint,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "tus-resumable, upload-length, upload-metadata",
        },
    )


# -- preflight --------------------------------------------------------------------------------------


async def test_a_preflight_from_an_allowed_origin_is_answered(cors_tus: TusClient) -> None:
    response = await preflight(cors_tus, APP)

    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == APP


async def test_a_preflight_allows_every_tus_method(cors_tus: TusClient) -> None:
    response = await preflight(cors_tus, APP, method="PATCH")

    assert {method.upper() for method in header_set(response, "Access-Control-Allow-Methods")} >= ALLOW_METHODS


async def test_a_preflight_allows_every_tus_request_header(cors_tus: TusClient) -> None:
    response = await preflight(cors_tus, APP)

    assert header_set(response, "Access-Control-Allow-Headers") >= lowered(ALLOW_HEADERS)


async def test_a_preflight_may_be_cached_for_a_day(cors_tus: TusClient) -> None:
    response = await preflight(cors_tus, APP)

    assert response.headers["Access-Control-Max-Age"] == "86400"


async def test_each_listed_origin_is_allowed(cors_tus: TusClient) -> None:
    response = await preflight(cors_tus, OTHER_APP)

    assert response.headers["Access-Control-Allow-Origin"] == OTHER_APP


async def test_a_preflight_from_a_disallowed_origin_gets_no_cors_headers(cors_tus: TusClient) -> None:
    response = await preflight(cors_tus, STRANGER)

    assert response.status_code == 403 or "Access-Control-Allow-Origin" not in response.headers


# -- actual requests --------------------------------------------------------------------------------


async def test_an_actual_request_from_an_allowed_origin_echoes_the_origin(cors_tus: TusClient) -> None:
    response = await cors_tus.create(5, headers={"Origin": APP})

    assert response.status_code == 201
    assert response.headers["Access-Control-Allow-Origin"] == APP


async def test_an_actual_request_exposes_the_tus_response_headers(cors_tus: TusClient) -> None:
    response = await cors_tus.create(5, headers={"Origin": APP})

    assert header_set(response, "Access-Control-Expose-Headers") >= lowered(EXPOSE_HEADERS)


async def test_an_actual_request_varies_on_origin(cors_tus: TusClient) -> None:
    response = await cors_tus.create(5, headers={"Origin": APP})

    assert "origin" in header_set(response, "Vary")


async def test_an_error_response_carries_the_cors_headers_too(cors_tus: TusClient) -> None:
    url = await cors_tus.new_upload(5)

    response = await cors_tus.http.patch(
        url, headers=tus_headers(upload_offset=3, content_type="application/offset+octet-stream", origin=APP)
    )

    assert response.status_code == 409
    assert response.headers["Access-Control-Allow-Origin"] == APP
    assert "upload-offset" in header_set(response, "Access-Control-Expose-Headers")


async def test_an_actual_request_from_a_disallowed_origin_gets_no_cors_headers(cors_tus: TusClient) -> None:
    response = await cors_tus.create(5, headers={"Origin": STRANGER})

    assert response.status_code == 403 or "Access-Control-Allow-Origin" not in response.headers


# -- credentials ------------------------------------------------------------------------------------


@pytest.fixture
def credentialed_tus(make_tus: MakeTus) -> TusClient:
    return make_tus(environ={"TUSD_PY_CORS_ORIGINS": APP, "TUSD_PY_CORS_ALLOW_CREDENTIALS": "true"})


async def test_with_credentials_a_preflight_echoes_the_exact_origin(credentialed_tus: TusClient) -> None:
    response = await preflight(credentialed_tus, APP)

    assert response.headers["Access-Control-Allow-Origin"] == APP
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


async def test_with_credentials_an_actual_request_echoes_the_exact_origin_and_varies_on_it(
    credentialed_tus: TusClient,
) -> None:
    response = await credentialed_tus.create(5, headers={"Origin": APP, "Cookie": "session=1"})

    assert response.headers["Access-Control-Allow-Origin"] == APP
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "origin" in header_set(response, "Vary")
