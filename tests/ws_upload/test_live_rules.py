"""WebSocket uploads keep the HTTP uploads' rules: auth and ownership, pre-create hooks, the pipeline, shutdown."""

from __future__ import annotations

import asyncio
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.pipeline.conftest import EXAMPLE_STAGES, pipeline_server, png
from tests.support.live_server import LiveServer
from tests.support.live_server import start_live as start
from tests.support.programs import require_program
from tests.support.s3_server import start_on_store
from tests.support.tus import TUS, payload, sha256
from tests.ws_upload.test_live_uploads import download
from tests.ws_upload.ws_client import Session, connect, upload, ws_url

MIB = 1024 * 1024
API_KEYS = "alice-key:alice,bob-key:bob,root-key:root:admin"
ALICE, BOB, ROOT = ({"X-API-Key": key} for key in ("alice-key", "bob-key", "root-key"))
pytestmark = pytest.mark.stores("file", "s3")  # a socket's rules do not depend on the store

REJECT_EXECUTABLES = """#!/usr/bin/env python3
import json, sys
request = json.load(sys.stdin)
name = request["Event"]["Upload"]["MetaData"].get("filename", "")
if name.endswith(".exe"):
    body = json.dumps({"message": "executables are not accepted"})
    print(json.dumps({"RejectUpload": True, "HTTPResponse": {"StatusCode": 422, "Body": body}}))
else:
    print("{}")
"""


@pytest.fixture(scope="module")
def secured(
    tmp_path_factory: pytest.TempPathFactory, store_kind: str, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp(f"ws-auth-{store_kind}")
    server = start_on_store(store_kind, request, root, "--auth", "api-key", env={"TUSD_PY_API_KEYS": API_KEYS})
    yield server
    server.stop()


async def test_a_socket_without_credentials_is_closed_4401(secured: LiveServer) -> None:
    async with connect(secured.endpoint) as ws:
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()

    assert ws.close_code == 4401
    assert secured.stored_names() == []


async def test_the_upload_belongs_to_the_socket_s_user(secured: LiveServer) -> None:
    session = await upload(secured.endpoint, payload(1000), headers=ALICE)
    url = session.messages[-1]["data"]["url"]

    assert httpx.get(url, headers=ALICE).status_code == 200
    assert httpx.get(url, headers=BOB).status_code == 403


async def test_a_browser_authenticates_with_the_token_parameter(secured: LiveServer) -> None:
    async with websockets.connect(ws_url(secured.endpoint) + "?token=alice-key") as ws:
        session = Session(ws)
        created = await session.start({"type": "create", "size": 10})
        await session.send_bytes(b"0123456789", 0)
        assert (await session.receive_until("success", "error"))["type"] == "success"

    assert httpx.head(created["url"], headers={**TUS, **ALICE}).status_code == 200


async def test_someone_else_s_upload_cannot_be_resumed(secured: LiveServer) -> None:
    async with connect(secured.endpoint, ALICE) as ws:
        session = Session(ws)
        created = await session.start({"type": "create", "size": 1000})
    async with connect(secured.endpoint, BOB) as ws:
        refused = await Session(ws).start({"type": "resume", "upload_id": created["upload_id"]})
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()

    assert refused["type"] == "error" and refused["status"] == 403 and refused["error_code"] == "forbidden"
    assert ws.close_code == 4403
    async with connect(secured.endpoint, ROOT) as ws:  # an admin may
        resumed = await Session(ws).start({"type": "resume", "upload_id": created["upload_id"]})
    assert resumed["status"] == "resumed"


async def test_an_unknown_upload_cannot_be_resumed(secured: LiveServer) -> None:
    async with connect(secured.endpoint, ALICE) as ws:
        refused = await Session(ws).start({"type": "resume", "upload_id": "0" * 32})
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()

    assert refused["status"] == 404 and refused["error_code"] == "upload_not_found"
    assert ws.close_code == 4404


@pytest.fixture(scope="module")
def hooked(
    tmp_path_factory: pytest.TempPathFactory, store_kind: str, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    require_program("python3", "the pre-create hook is a `#!/usr/bin/env python3` executable")
    root = tmp_path_factory.mktemp(f"ws-hooks-{store_kind}")
    hooks = root / "hooks"
    hooks.mkdir()
    script = hooks / "pre-create"
    script.write_text(REJECT_EXECUTABLES)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    server = start_on_store(store_kind, request, root, "--hooks-dir", str(hooks))
    yield server
    server.stop()


async def test_a_pre_create_hook_rejects_the_upload_over_the_socket(hooked: LiveServer) -> None:
    async with connect(hooked.endpoint) as ws:
        refused = await Session(ws).start({"type": "create", "size": 100, "filename": "setup.exe"})
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()

    assert refused["type"] == "error" and refused["status"] == 422 and refused["error_code"] == "upload_rejected"
    assert refused["error_message"] == "executables are not accepted"
    assert ws.close_code == 4422
    assert not [name for name in hooked.stored_names() if name.endswith(".info")]


async def test_a_pre_create_hook_lets_other_uploads_through(hooked: LiveServer) -> None:
    session = await upload(hooked.endpoint, payload(5000), {"filename": "notes.txt"})

    assert session.messages[-1]["type"] == "success"


@pytest.fixture(scope="module")
def processing(
    tmp_path_factory: pytest.TempPathFactory, store_kind: str, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp(f"ws-pipeline-{store_kind}")
    server = pipeline_server(root, "--pipeline", EXAMPLE_STAGES, store_kind=store_kind, request=request)
    yield server
    server.stop()


async def test_the_pipeline_s_stages_and_result_reach_the_socket(processing: LiveServer) -> None:
    image = png(320, 200)

    session = await upload(processing.endpoint, image, {"filename": "gradient.png", "content_type": "image/png"})

    success = session.messages[-1]
    assert success["type"] == "success", session.messages[-3:]
    assert success["data"]["status"] == "processed"
    result = success["data"]["result"]
    assert result["inspect"]["width"] == 320 and result["inspect"]["height"] == 200
    assert result["digests"]["sha256"] == sha256(image)
    stages = {m["stage"] for m in session.of_type("status") if m["status"] == "processing"}
    assert stages == {"digests", "inspect", "thumbnail"}
    order = [m["type"] for m in session.messages]
    assert order.index("success") > max(i for i, m in enumerate(session.messages) if m.get("status") == "completed")


async def test_a_resumed_processed_upload_answers_success_at_once(processing: LiveServer) -> None:
    first = await upload(processing.endpoint, png(16, 16), {"filename": "tiny.png"})
    upload_id = first.messages[-1]["data"]["id"]

    async with connect(processing.endpoint) as ws:
        session = Session(ws)
        resumed = await session.start({"type": "resume", "upload_id": upload_id})
        success = await session.receive_until("success", "error")

    assert resumed["offset"] == resumed["length"]
    assert success["type"] == "success" and success["data"]["result"] == first.messages[-1]["data"]["result"]


@pytest.mark.stores("file")  # counts on a confirmation at 1 MiB: S3 confirms 5 MiB parts
async def test_shutdown_ends_the_socket_with_1012_and_the_upload_resumes_after_restart(tmp_path: Path) -> None:
    server = start(tmp_path, "--write-block-size", "64KiB", "--ws-upload-window", "256KiB")
    data = payload(2 * MIB, seed=21)
    try:
        async with connect(server.endpoint) as ws:
            session = Session(ws)
            created = await session.start({"type": "create", "size": len(data)})
            await session.send_bytes(data, 0, stop_at=MIB)
            await session.wait_for_offset(MIB)
            assert server.process is not None
            server.process.send_signal(signal.SIGTERM)
            error = await session.receive_until("error")
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
        assert error["status"] == 503 and error["error_code"] == "server_shutting_down"
        assert ws.close_code == 1012
        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(server.start)

        async with connect(server.endpoint) as ws:
            session = Session(ws)
            resumed = await session.start({"type": "resume", "upload_id": created["upload_id"]})
            assert resumed["offset"] >= MIB
            await session.send_bytes(data, resumed["offset"])
            assert (await session.receive_until("success", "error"))["type"] == "success"
        assert sha256(download(created["url"])) == sha256(data)
    finally:
        server.stop()

