"""GET B: the caller's uploads as snapshots, newest first, with counts by status, filters and pages."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.events.clients import create, patch, upload
from tests.events.test_progress_snapshot import SNAPSHOT_FIELDS
from tests.support.live_server import LiveServer
from tests.support.tus import payload

STATUSES = ["created", "uploading", "completed", "processing", "processed", "failed", "terminated", "expired"]


async def listing(http: httpx.AsyncClient, server: LiveServer, **query: str | int) -> dict[str, Any]:
    response = await http.get(server.endpoint, params=query)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def one_of_each_status(http: httpx.AsyncClient, server: LiveServer, batch: str) -> dict[str, str]:
    """A created, an uploading and a completed upload in `batch`."""
    created = await create(http, server, 10, {"batch": batch})
    uploading = await create(http, server, 10, {"batch": batch})
    assert (await patch(http, uploading, 0, payload(4))).status_code == 204
    completed = await create(http, server, 10, {"batch": batch})
    await upload(http, completed, payload(10))
    return {"created": created, "uploading": uploading, "completed": completed}


async def test_counts_are_given_for_every_status(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    await one_of_each_status(http, events_server, "listing-counts")

    page = await listing(http, events_server, batch="listing-counts")

    assert page["counts"] == {status: 0 for status in STATUSES} | {"created": 1, "uploading": 1, "completed": 1}
    assert page["total"] == 3


async def test_each_row_is_a_progress_snapshot(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    urls = await one_of_each_status(http, events_server, "listing-rows")

    page = await listing(http, events_server, batch="listing-rows")

    assert {row["url"]: row["status"] for row in page["uploads"]} == {url: status for status, url in urls.items()}
    for row in page["uploads"]:
        assert sorted(row) == sorted(SNAPSHOT_FIELDS)


async def test_the_status_filter_keeps_matching_uploads_and_counts_all(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    urls = await one_of_each_status(http, events_server, "listing-status")

    page = await listing(http, events_server, batch="listing-status", status="completed")

    assert [row["url"] for row in page["uploads"]] == [urls["completed"]]
    assert page["total"] == 1
    assert page["counts"]["uploading"] == 1  # counts cover every upload the other filters match


async def test_the_batch_filter_keeps_only_that_batch(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    mine = await create(http, events_server, 10, {"batch": "listing-mine"})
    await create(http, events_server, 10, {"batch": "listing-theirs"})

    page = await listing(http, events_server, batch="listing-mine")

    assert [row["url"] for row in page["uploads"]] == [mine]


async def test_uploads_are_listed_newest_first_in_pages(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    urls = [await create(http, events_server, 10, {"batch": "listing-pages"}) for _ in range(5)]

    pages = [await listing(http, events_server, batch="listing-pages", limit=2, offset=offset) for offset in (0, 2, 4)]

    assert [[row["url"] for row in page["uploads"]] for page in pages] == [urls[4:2:-1], urls[2:0:-1], urls[:1]]
    assert [(page["total"], page["limit"], page["offset"]) for page in pages] == [(5, 2, 0), (5, 2, 2), (5, 2, 4)]


async def test_a_page_past_the_end_is_empty(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    await create(http, events_server, 10, {"batch": "listing-past-end"})

    page = await listing(http, events_server, batch="listing-past-end", offset=10)

    assert (page["uploads"], page["total"]) == ([], 1)


async def test_the_default_page_is_fifty(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    page = await listing(http, events_server, batch="listing-nothing-here")

    assert (page["limit"], page["offset"], page["uploads"], page["total"]) == (50, 0, [], 0)


@pytest.mark.parametrize(
    ("query", "error_code"),
    [
        ({"status": "sleeping"}, "invalid_status"),
        ({"limit": "0"}, "invalid_query"),
        ({"limit": "501"}, "invalid_query"),
        ({"limit": "ten"}, "invalid_query"),
        ({"offset": "-1"}, "invalid_query"),
    ],
)
async def test_bad_listing_queries_are_400(
    events_server: LiveServer, http: httpx.AsyncClient, query: dict[str, str], error_code: str
) -> None:
    response = await http.get(events_server.endpoint, params=query)

    assert response.status_code == 400
    assert response.json()["error_code"] == error_code
