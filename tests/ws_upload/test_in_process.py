"""The upload socket in-process (Starlette's test client): every malformed or out-of-turn message gets an error."""

from __future__ import annotations

import errno
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tusd_py import Settings, create_app
from tusd_py.protocol.info import UploadInfo
from tusd_py.storage import FileStore
from tusd_py.storage.appender import FileAppender


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(upload_dir=tmp_path / "uploads", ws_max_message_size=1024, ws_upload_window=4096)
    with TestClient(create_app(settings)) as client:
        yield client


def refusal(client: TestClient, *messages: str | bytes) -> tuple[dict[str, Any], int]:
    """Send the messages after the greeting; the error that follows and the close code."""
    with client.websocket_connect("/files/upload") as ws:
        assert ws.receive_json()["status"] == "connected"
        for message in messages:
            ws.send_bytes(message) if isinstance(message, bytes) else ws.send_text(message)
        while (answer := ws.receive_json())["type"] != "error":
            pass
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    return answer, closed.value.code


def test_the_greeting_states_the_window_and_the_frame_size(client: TestClient) -> None:
    with client.websocket_connect("/files/upload") as ws:
        greeting = ws.receive_json()

    assert greeting == {
        "type": "status",
        "status": "connected",
        "message": "send a create or a resume message",
        "window": 4096,
        "max_frame_size": 1024,
    }


@pytest.mark.parametrize("text", ["hello", "[1]", '{"type": "launch"}', '{"type": "create", "size": -4}'])
def test_a_malformed_first_message_is_an_error_and_a_4400_close(client: TestClient, text: str) -> None:
    error, code = refusal(client, text)

    assert error["status"] == 400 and error["error_code"] == "invalid_message" and code == 4400
    assert error["offset"] is None


def test_bytes_before_create_are_refused(client: TestClient) -> None:
    error, code = refusal(client, b"data")

    assert error["error_code"] == "invalid_message" and "before any bytes" in error["error_message"]
    assert code == 4400


def test_a_segment_before_create_is_refused(client: TestClient) -> None:
    error, _ = refusal(client, json.dumps({"type": "segment", "length": 3}))

    assert error["error_message"] == "the first message is create or resume"


def test_a_second_create_on_the_same_socket_is_refused(client: TestClient, tmp_path: Path) -> None:
    create = json.dumps({"type": "create", "size": 10})

    error, code = refusal(client, create, create)

    assert error["error_code"] == "invalid_message" and code == 4400
    assert error["offset"] == 0
    assert len(list((tmp_path / "uploads").glob("*.info"))) == 1


def test_a_frame_over_the_bound_is_refused_even_without_uvicorn_s_limit(client: TestClient, tmp_path: Path) -> None:
    error, code = refusal(client, json.dumps({"type": "create", "size": 5000}), b"x" * 1025)

    assert error["status"] == 413 and error["error_code"] == "frame_too_large" and code == 4413
    assert error["details"] == {"size": 1025, "max_frame_size": 1024}
    (info,) = (tmp_path / "uploads").glob("*.info")
    assert (tmp_path / "uploads" / info.stem).stat().st_size == 0


def test_a_segment_split_across_frames_and_a_frame_across_segments_both_arrive(client: TestClient) -> None:
    with client.websocket_connect("/files/upload") as ws:
        ws.receive_json()
        ws.send_text(json.dumps({"type": "create", "size": 10}))
        created = ws.receive_json()
        ws.send_text(json.dumps({"type": "segment", "length": 4}))
        ws.send_bytes(b"01")
        ws.send_bytes(b"23456789")  # ends the segment and carries the next bytes
        messages = []
        while (message := ws.receive_json())["type"] != "success":
            messages.append(message)
        download = client.get(created["url"])

    assert download.content == b"0123456789"
    assert [m["offset"] for m in messages if m["type"] == "progress"] == [4, 10]


def test_ping_is_answered_with_pong(client: TestClient) -> None:
    with client.websocket_connect("/files/upload") as ws:
        ws.receive_json()
        ws.send_text(json.dumps({"type": "create", "size": 1}))
        ws.receive_json()
        ws.send_text(json.dumps({"type": "ping"}))
        pong = ws.receive_json()

    assert pong["type"] == "pong" and pong["timestamp"].endswith("Z")


def test_a_silent_client_is_told_and_closed_after_the_network_timeout(tmp_path: Path) -> None:
    settings = Settings(upload_dir=tmp_path / "uploads", network_timeout=0.2)
    with TestClient(create_app(settings)) as client, client.websocket_connect("/files/upload") as ws:
        ws.receive_json()
        error = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()

    assert error["status"] == 408 and error["error_code"] == "idle_timeout" and closed.value.code == 4408


def test_a_mounted_app_hands_out_urls_under_its_mount(tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    parent = Starlette(routes=[Mount("/api", create_app(Settings(upload_dir=tmp_path / "uploads")))])
    with TestClient(parent) as client, client.websocket_connect("/api/files/upload") as ws:
        ws.receive_json()
        ws.send_text(json.dumps({"type": "create", "size": 0}))
        created = ws.receive_json()
        while (message := ws.receive_json())["type"] != "success":
            pass

    assert created["url"].startswith("http://testserver/api/files/")
    assert message["data"]["url"] == created["url"] and message["data"]["size"] == 0


def test_upload_sockets_count_against_the_rate_limit(tmp_path: Path) -> None:
    settings = Settings(upload_dir=tmp_path / "uploads", rate_limit=0.01, rate_burst=2)
    with TestClient(create_app(settings)) as client:
        for _ in range(2):
            with client.websocket_connect("/files/upload") as ws:
                assert ws.receive_json()["status"] == "connected"
        with client.websocket_connect("/files/upload") as ws, pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()

    assert closed.value.code == 4429 and closed.value.reason.startswith("more than 0.01 requests per second")


class FullDisk(FileStore):
    """A store whose disk is full: every append fails as the kernel says so."""

    def open_appender(self, info: UploadInfo, **options: Any) -> FileAppender:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_is_told_as_507_and_the_socket_closed_1011(tmp_path: Path) -> None:
    settings = Settings(upload_dir=tmp_path / "uploads")
    app = create_app(settings, store=FullDisk(settings.upload_dir))
    with TestClient(app) as client, client.websocket_connect("/files/upload") as ws:
        ws.receive_json()
        ws.send_text(json.dumps({"type": "create", "size": 10}))
        ws.receive_json()
        ws.send_bytes(b"0123456789")
        error = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()

    assert error["status"] == 507 and error["error_code"] == "insufficient_storage" and error["offset"] == 0
    assert closed.value.code == 1011


def test_a_network_timeout_of_0_lets_a_quiet_client_wait(tmp_path: Path) -> None:
    settings = Settings(upload_dir=tmp_path / "uploads", network_timeout=0)
    with TestClient(create_app(settings)) as client, client.websocket_connect("/files/upload") as ws:
        ws.receive_json()
        ws.send_text(json.dumps({"type": "ping"}))  # after the greeting, with no timeout: answered, not timed out
        answer = ws.receive_json()

    assert answer["type"] == "error" and answer["error_message"] == "the first message is create or resume"
