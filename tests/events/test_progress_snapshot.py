"""GET B{id}/progress: one upload's state as JSON, with exactly the fields of SPEC §4."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.events.clients import create, upload
from tests.support.live_server import LiveServer
from tests.support.tus import TUS, payload

SNAPSHOT_FIELDS = [
    "id",
    "url",
    "status",
    "offset",
    "length",
    "percentage",
    "bytes_per_second",
    "eta_seconds",
    "estimated_completion",
    "filename",
    "filetype",
    "metadata",
    "batch",
    "created_at",
    "updated_at",
    "completed_at",
    "expires_at",
    "download_url",
    "processing",
    "source",
    "protocol",
]
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


async def snapshot(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await http.get(f"{url}/progress")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    state: dict[str, Any] = response.json()
    return state


async def test_the_snapshot_has_exactly_the_fields_of_the_spec(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 10)

    assert sorted(await snapshot(http, url)) == sorted(SNAPSHOT_FIELDS)


async def test_a_finished_upload_snapshot(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    url = await create(http, events_server, 10, {"filename": "notes.txt", "filetype": "text/plain", "batch": "snap"})
    await upload(http, url, payload(10))

    state = await snapshot(http, url)

    assert state["id"] == url.rsplit("/", 1)[1]
    assert state["url"] == url
    assert (state["status"], state["offset"], state["length"], state["percentage"]) == ("completed", 10, 10, 100.0)
    assert (state["filename"], state["filetype"], state["batch"]) == ("notes.txt", "text/plain", "snap")
    assert state["metadata"] == {"filename": "notes.txt", "filetype": "text/plain", "batch": "snap"}
    assert state["download_url"] == url
    assert ISO_UTC.fullmatch(state["completed_at"])
    assert state["created_at"] <= state["updated_at"] <= state["completed_at"]


async def test_a_new_upload_snapshot(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    url = await create(http, events_server, 10)

    state = await snapshot(http, url)

    assert (state["status"], state["offset"], state["percentage"]) == ("created", 0, 0.0)
    assert ISO_UTC.fullmatch(state["created_at"])
    for unset in (
        "bytes_per_second",
        "eta_seconds",
        "estimated_completion",
        "filename",
        "filetype",
        "batch",
        "completed_at",
        "expires_at",
        "download_url",
        "processing",
        "source",
    ):
        assert state[unset] is None, unset
    assert state["metadata"] == {}


async def test_a_partly_sent_upload_is_uploading_with_its_share(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 400)
    response = await http.patch(
        url,
        content=payload(100),
        headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    assert response.status_code == 204

    state = await snapshot(http, url)

    assert (state["status"], state["offset"], state["percentage"]) == ("uploading", 100, 25.0)
    assert state["download_url"] is None


async def test_a_deferred_length_shows_as_null_length_and_percentage(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, None)

    state = await snapshot(http, url)

    assert (state["length"], state["percentage"]) == (None, None)


async def test_the_snapshot_of_an_unknown_upload_is_404(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    response = await http.get(f"{events_server.endpoint}0123456789abcdef0123456789abcdef/progress")

    assert response.status_code == 404
    assert response.json()["error_code"] == "upload_not_found"


async def test_the_snapshot_of_a_terminated_upload_is_410(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    url = await create(http, events_server, 10)
    assert (await http.delete(url, headers=TUS)).status_code == 204

    response = await http.get(f"{url}/progress")

    assert response.status_code == 410
    assert response.json()["error_code"] == "upload_gone"
