"""The seeds/002 flow: a client opens its batch's event socket first, then imports a URL and sends a form file
into that batch, and hears both files created, progressing, processed, and the batch's summary, without polling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.events.clients import WsFollower, following, is_type, ws_url
from tests.imports.helpers import start_import
from tests.imports.sources import CONTENT, SourceServer
from tests.support.live_server import LiveServer, start_live
from tests.support.tus import payload

PIPELINE = "digests=examples.pipeline.stages:digests"


@pytest.fixture
def processing_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_live(tmp_path, "--import-allow", "127.0.0.1", "--pipeline", PIPELINE, "--progress-interval", "100ms")
    yield server
    server.stop()


async def test_a_batch_socket_opened_first_hears_an_import_and_a_form_file_through_processing(
    http: httpx.AsyncClient, processing_server: LiveServer, source: SourceServer
) -> None:
    follower = WsFollower()
    task = await following(
        follower, ws_url(processing_server, "batches/seed-flow/events"), stop_after=is_type("batch-completed")
    )

    imported = await start_import(
        http, processing_server, source.base_url + "/file.bin", batch="seed-flow", metadata={"batch_total": "2"}
    )
    sent = await http.post(
        processing_server.endpoint + "form",
        data={"batch": "seed-flow", "batch_total": "2"},
        files={"file": ("form.bin", payload(300_000))},
    )
    assert sent.status_code == 201, sent.text
    form_id = sent.json()["uploads"][0]["id"]

    await task
    for upload_id in (imported["id"], form_id):
        types = [event["type"] for event in follower.events if event.get("upload_id") == upload_id]
        assert types[0] == "created", types
        assert "progress" in types and "processing" in types, types
        assert types[-1] == "processed", types
    summary = follower.events[-1]
    assert summary["type"] == "batch-completed"
    assert (summary["total"], summary["finished"], summary["failed"]) == (2, 2, 0)
    assert summary["bytes_received"] == len(CONTENT) + 300_000
