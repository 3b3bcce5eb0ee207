"""WebSocket uploads against a real `tusd-py serve`: whole, resumed, mixed with HTTP, checked, bounded, watched."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Iterator

import httpx
import pytest
import websockets

from tests.interop.stored_upload import StoredUpload
from tests.server.test_large_uploads import peak_rss_kib
from tests.support.live_server import LiveServer
from tests.support.live_server import start_live as start
from tests.support.s3_server import start_on_store
from tests.support.tus import TUS, create, offset_of, patch, payload, sha256, upload_id
from tests.ws_upload.ws_client import Session, connect, partly_uploaded, upload

MIB = 1024 * 1024
# A socket is one more way in, on either store. S3 confirms whole parts (5 MiB and more), not every 64 KiB write,
# so a client there is given a window of two parts and an upload of a few MiB is confirmed only when it completes:
# the tests that count on per-write confirmations run on files alone.
BOTH_STORES = pytest.mark.stores("file", "s3")
BLOCK = 64 * 1024  # the server's write block here: storage acknowledges every 64 KiB


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, store_kind: str, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    server = start_on_store(
        store_kind, request, tmp_path_factory.mktemp(f"ws-uploads-{store_kind}"),
        "--write-block-size", "64KiB",
        "--ws-upload-window", "256KiB",
        "--max-size", "8MiB",
        "--progress-interval", "50ms",
    )  # fmt: skip
    yield server
    server.stop()


def download(url: str) -> bytes:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    return response.content


@BOTH_STORES
async def test_a_whole_upload_arrives_intact_and_is_an_ordinary_tus_upload(server: LiveServer) -> None:
    data = payload(3 * MIB + 123)

    session = await upload(server.endpoint, data, {"filename": "photo.jpg", "content_type": "image/jpeg"})

    success = session.messages[-1]
    assert success["type"] == "success", session.messages[-3:]
    described = success["data"]
    assert described["filename"] == "photo.jpg" and described["content_type"] == "image/jpeg"
    assert described["size"] == len(data) and described["status"] == "completed"
    assert described["uploaded_at"].endswith("Z")
    assert sha256(download(described["url"])) == sha256(data)
    head = httpx.head(described["url"], headers=TUS)
    assert head.headers["upload-offset"] == head.headers["upload-length"] == str(len(data))
    assert StoredUpload.exists(server.storage, described["id"])


async def test_bytes_are_acknowledged_as_stored_within_the_window(server: LiveServer) -> None:
    data = payload(2 * MIB, seed=2)

    session = await upload(server.endpoint, data)

    acks = [m["offset"] for m in session.of_type("progress")]
    assert acks == sorted(set(acks)) and acks[-1] == len(data)
    assert len(acks) >= len(data) // session.window, "storage acknowledges as it goes, not only at the end"
    last = session.of_type("progress")[-1]
    assert last["percentage"] == 100.0 and last["length"] == len(data)
    assert isinstance(last["bytes_per_second"], float) and last["eta_seconds"] == 0.0
    kinds = [m["type"] for m in session.messages]
    assert kinds[:2] == ["status", "status"] and kinds[-2:] == ["status", "success"]
    assert session.messages[-2]["status"] == "completed" and session.messages[-2]["offset"] == len(data)


async def test_a_reconnect_resumes_from_the_stored_offset(server: LiveServer) -> None:
    data = payload(2 * MIB, seed=3)
    created = await partly_uploaded(server.endpoint, data, MIB, filename="half.bin")
    # The socket dropped after 1 MiB was acknowledged; a new one resumes the same upload.
    async with connect(server.endpoint) as ws:
        second = Session(ws)
        resumed = await second.start({"type": "resume", "upload_id": created["upload_id"]})
        assert resumed["status"] == "resumed" and resumed["offset"] == MIB and resumed["length"] == len(data)
        await second.send_bytes(data, resumed["offset"])
        success = await second.receive_until("success", "error")

    assert success["type"] == "success"
    assert sha256(download(created["url"])) == sha256(data)


async def test_a_socket_cut_mid_frame_keeps_what_was_stored(server: LiveServer) -> None:
    data = payload(MIB, seed=4)
    async with connect(server.endpoint) as ws:
        session = Session(ws)
        created = await session.start({"type": "create", "size": len(data)})
        await session.send_bytes(data, 0, stop_at=300 * 1024)
        await session.wait_for_offset(BLOCK)
        ws.transport.abort()  # no close frame: the client vanished
    url = created["url"]

    async def settled() -> int:
        for _ in range(200):
            head = httpx.head(url, headers=TUS)
            if head.status_code == 200 and int(head.headers["upload-offset"]) >= 300 * 1024 - BLOCK:
                return int(head.headers["upload-offset"])
            await asyncio.sleep(0.02)
        raise AssertionError("the stored offset never reached what was sent")

    offset = await settled()
    assert with_file(server, upload_id(url))[:offset] == data[:offset]
    response = patch(url, offset, data[offset:])
    assert response.status_code == 204
    assert sha256(download(url)) == sha256(data)


def with_file(server: LiveServer, upload: str) -> bytes:
    return StoredUpload.load(server.storage, upload).data


@BOTH_STORES
async def test_an_upload_begun_over_http_finishes_over_the_socket(server: LiveServer) -> None:
    data = payload(MIB, seed=5)
    url = create(server.endpoint, len(data))
    assert patch(url, 0, data[:400_000]).status_code == 204

    async with connect(server.endpoint) as ws:
        session = Session(ws)
        resumed = await session.start({"type": "resume", "upload_id": upload_id(url)})
        assert resumed["offset"] == 400_000
        await session.send_bytes(data, 400_000)
        assert (await session.receive_until("success", "error"))["type"] == "success"

    assert sha256(download(url)) == sha256(data)


async def test_an_upload_begun_over_the_socket_finishes_over_http(server: LiveServer) -> None:
    data = payload(MIB, seed=6)
    created = await partly_uploaded(server.endpoint, data, 512 * 1024)
    url = created["url"]

    offset = offset_of(url)
    assert offset == 512 * 1024
    assert patch(url, offset, data[offset:]).status_code == 204
    assert sha256(download(url)) == sha256(data)


@BOTH_STORES
async def test_a_segment_with_a_wrong_checksum_is_dropped_and_can_be_sent_again(server: LiveServer) -> None:
    data = payload(200_000, seed=7)
    good = "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()
    bad = "sha256 " + base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode()
    async with connect(server.endpoint) as ws:
        session = Session(ws)
        created = await session.start({"type": "create", "size": len(data)})
        await session.send_json({"type": "segment", "length": len(data), "checksum": bad})
        await session.send_bytes(data, 0)
        mismatch = await session.receive_until("error")
        assert mismatch["status"] == 460 and mismatch["error_code"] == "checksum_mismatch"
        assert mismatch["offset"] == 0
        assert offset_of(created["url"]) == 0, "nothing of a mismatched segment is kept"

        await session.send_json({"type": "segment", "length": len(data), "checksum": good})
        session.acknowledged = 0
        await session.send_bytes(data, 0)
        success = await session.receive_until("success", "error")

    assert success["type"] == "success"
    assert sha256(download(created["url"])) == sha256(data)


async def test_a_checksummed_segment_larger_than_the_window_is_refused(server: LiveServer) -> None:
    async with connect(server.endpoint) as ws:
        session = Session(ws)
        await session.start({"type": "create", "size": MIB})
        await session.send_json({"type": "segment", "length": MIB, "checksum": "sha1 " + "A" * 28})
        error = await session.receive_until("error")
        with pytest.raises(websockets.ConnectionClosed):
            await session.receive()

    assert error["error_code"] == "invalid_message" and ws.close_code == 4400


@BOTH_STORES
async def test_an_upload_above_the_maximum_size_is_refused_before_any_byte(server: LiveServer) -> None:
    async with connect(server.endpoint) as ws:
        session = Session(ws)
        error = await session.start({"type": "create", "size": 9 * MIB})
        with pytest.raises(websockets.ConnectionClosed):
            await session.receive()

    assert error["type"] == "error" and error["status"] == 413 and error["error_code"] == "upload_too_large"
    assert ws.close_code == 4413
    assert not list(server.upload_dir.glob("*.info.tmp"))


@BOTH_STORES
async def test_bytes_past_the_declared_size_are_refused_and_the_size_is_kept(server: LiveServer) -> None:
    data = payload(100_000, seed=8)
    async with connect(server.endpoint) as ws:
        session = Session(ws)
        created = await session.start({"type": "create", "size": len(data)})
        await session.send_bytes(data, 0, stop_at=len(data) - 50)
        await ws.send(data[-50:] + b"too much")  # the last frame crosses the end
        error = await session.receive_until("error", "success")

    assert error["type"] == "error" and error["status"] == 413 and error["error_code"] == "body_exceeds_length"
    assert ws.close_code == 4413
    assert download(created["url"]) == data


async def test_a_deferred_length_is_declared_by_a_length_message(server: LiveServer) -> None:
    data = payload(300_000, seed=9)
    async with connect(server.endpoint) as ws:
        session = Session(ws)
        created = await session.start({"type": "create", "size": None, "filename": "stream.log"})
        assert created["length"] is None
        await session.send_bytes(data, 0)
        await session.wait_for_offset(len(data))
        progress = httpx.get(created["url"] + "/progress").json()  # a HEAD would take the upload over
        assert progress["length"] is None and progress["offset"] == len(data)
        await session.send_json({"type": "length", "size": len(data)})
        success = await session.receive_until("success", "error")

    assert success["type"] == "success" and success["data"]["size"] == len(data), success
    assert sha256(download(created["url"])) == sha256(data)


@BOTH_STORES
async def test_another_subscriber_sees_the_upload_s_events(server: LiveServer) -> None:
    data = payload(2 * MIB, seed=10)
    async with connect(server.endpoint) as ws:
        session = Session(ws)
        created = await session.start({"type": "create", "size": len(data), "filename": "watched.bin"})
        events_url = server.endpoint.replace("http://", "ws://") + created["upload_id"] + "/events"
        async with websockets.connect(events_url) as watcher:
            await session.send_bytes(data, 0)
            assert (await session.receive_until("success", "error"))["type"] == "success"
            seen = []
            async with asyncio.timeout(15):
                async for text in watcher:
                    seen.append(json.loads(str(text)))

    kinds = [event["type"] for event in seen]
    assert "progress" in kinds and kinds[-1] == "completed"
    assert seen[-1]["offset"] == len(data) and seen[-1]["filename"] == "watched.bin"


async def test_a_plain_http_request_on_the_upload_interrupts_the_socket_s_append(server: LiveServer) -> None:
    data = payload(MIB, seed=11)
    async with connect(server.endpoint) as ws:
        session = Session(ws)
        created = await session.start({"type": "create", "size": len(data)})
        await session.send_bytes(data, 0, stop_at=200_000)
        await session.wait_for_offset(BLOCK)
        # A second client takes the upload over: HEAD asks the socket's append to let go, as it would a PATCH.
        head = await asyncio.to_thread(httpx.head, created["url"], headers=TUS)
        error = await session.receive_until("error")

    assert head.status_code == 200
    assert error["status"] == 409 and error["error_code"] == "upload_interrupted"
    assert error["offset"] == int(head.headers["upload-offset"])
    assert ws.close_code == 4409


async def test_a_large_upload_keeps_server_memory_flat(server: LiveServer) -> None:
    size = 8 * MIB  # the module server's maximum; the bound below is what would fail if frames were held
    data = payload(size, seed=12)
    assert server.process is not None
    await upload(server.endpoint, payload(1000))  # warm every code path up before the baseline
    before = peak_rss_kib(server.process.pid)

    session = await upload(server.endpoint, data)

    growth_mib = (peak_rss_kib(server.process.pid) - before) / 1024
    assert session.messages[-1]["type"] == "success"
    assert growth_mib < 6, f"peak RSS grew by {growth_mib:.1f} MiB during an {size // MIB} MiB upload"


@pytest.fixture(scope="module")
def big_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start(tmp_path_factory.mktemp("ws-big"), "--ws-max-message-size", "1MiB")
    yield server
    server.stop()


async def test_a_256_mib_upload_in_1_mib_frames_keeps_server_memory_flat(big_server: LiveServer) -> None:
    size = 256 * MIB
    data = payload(MIB, seed=13) * 256
    assert big_server.process is not None
    await upload(big_server.endpoint, payload(1000))
    before = peak_rss_kib(big_server.process.pid)

    session = await upload(big_server.endpoint, data)

    growth_mib = (peak_rss_kib(big_server.process.pid) - before) / 1024
    assert session.messages[-1]["type"] == "success"
    assert sha256(with_file(big_server, session.messages[-1]["data"]["id"])) == sha256(data)
    assert growth_mib < 40, f"peak RSS grew by {growth_mib:.1f} MiB during a {size // MIB} MiB upload"


@BOTH_STORES
async def test_a_frame_over_the_message_size_closes_the_socket_with_1009(server: LiveServer) -> None:
    async with connect(server.endpoint) as ws:
        session = Session(ws)
        created = await session.start({"type": "create", "size": MIB})
        await ws.send(b"x" * (session.max_frame_size + 1))
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await session.receive()

    assert ws.close_code == 1009
    assert offset_of(created["url"]) == 0
