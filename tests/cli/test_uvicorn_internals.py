"""serve checks that the installed uvicorn has what its own protocols use; if not, it serves with uvicorn's own."""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import LiveServer
from tusd_py.cli import uvicorn_internals
from tusd_py.cli.http_protocol import BoundedHttpToolsProtocol
from tusd_py.cli.uvicorn_internals import HTTP_NEEDS, WS_NEEDS, missing, serving_protocols
from tusd_py.cli.ws_protocol import DirectFramesProtocol

WARNING = "lacks what tusd_py's own protocols use"
TUS = {"Tus-Resumable": "1.0.0"}


class Protocol:
    cycle = None

    def __init__(self) -> None:
        self.parser = object()

    @property
    def scope(self) -> dict[str, str]:
        return {}

    def on_body(self) -> None:
        self.transport = None


FAKE = (__name__, "Protocol")


def test_the_installed_uvicorn_has_all_our_protocols_use() -> None:
    assert missing(HTTP_NEEDS) == []
    assert missing(WS_NEEDS) == []


def test_attributes_methods_assign_properties_and_methods_count_as_present() -> None:
    assert missing({FAKE: ("cycle", "parser", "scope", "on_body", "transport")}) == []


def test_a_name_nothing_defines_or_assigns_is_missing() -> None:
    assert missing({FAKE: ("parser", "flow", "send_400_response")}) == [
        f"{__name__}.Protocol.flow",
        f"{__name__}.Protocol.send_400_response",
    ]


def test_a_missing_class_or_module_is_missing() -> None:
    assert missing({(__name__, "Gone"): ("x",), ("uvicorn.protocols.gone", "P"): ("x",)}) == [
        f"{__name__}.Gone",
        "uvicorn.protocols.gone.P",
    ]


def test_with_everything_there_serve_uses_our_protocols_quietly(caplog: pytest.LogCaptureFixture) -> None:
    protocols = serving_protocols(None)

    assert (protocols.http, protocols.ws) == (BoundedHttpToolsProtocol, DirectFramesProtocol)
    assert WARNING not in caplog.text


def test_a_missing_websocket_internal_turns_off_only_our_websocket_protocol(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(uvicorn_internals, "WS_NEEDS", {FAKE: ("write_frame_somehow",)})

    with caplog.at_level(logging.WARNING, logger="tusd_py"):
        protocols = serving_protocols(None)

    assert (protocols.http, protocols.ws) == (BoundedHttpToolsProtocol, "auto")
    [record] = [record for record in caplog.records if WARNING in record.getMessage()]
    assert "Protocol.write_frame_somehow" in record.getMessage()
    assert "tusd_py's WebSocket protocol" in record.getMessage()
    assert "HTTP protocol" not in record.getMessage()


def test_a_workers_process_does_not_warn_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(uvicorn_internals, "HTTP_NEEDS", {FAKE: ("gone",)})

    with caplog.at_level(logging.WARNING, logger="tusd_py"):
        protocols = serving_protocols(None, warn=False)

    assert protocols.http == "auto"
    assert WARNING not in caplog.text


@pytest.fixture
def server_without_internal(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(
        tmp_path / "uploads", tmp_path / "server.log", module="tests.cli.serve_without_uvicorn_internal"
    )
    server.upload_dir.mkdir()
    server.start(timeout=60)
    try:
        yield server
    finally:
        server.stop()


def test_serve_falls_back_to_uvicorns_protocol_with_one_warning_and_uploads_still_work(
    server_without_internal: LiveServer,
) -> None:
    server = server_without_internal
    data = random.Random(7).randbytes(3 * 1024 * 1024)  # past the size our protocol would take from the socket
    with httpx.Client(timeout=60) as client:
        created = client.post(server.endpoint, headers={**TUS, "Upload-Length": str(len(data))})
        assert created.status_code == 201, created.text
        url = created.headers["Location"]
        patched = client.patch(
            url, content=data, headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
        )
        assert patched.status_code == 204, patched.text
        downloaded = client.get(url)

    assert hashlib.sha256(downloaded.content).hexdigest() == hashlib.sha256(data).hexdigest()
    warnings = [line for line in server.log().splitlines() if WARNING in line]
    assert len(warnings) == 1, server.log()
    assert "HttpToolsProtocol.send_400_response" in warnings[0]
    assert "turned off tusd_py's HTTP protocol" in warnings[0]
    assert "WebSocket protocol" not in warnings[0]  # that one needs nothing that went missing


def test_serve_on_the_tested_uvicorn_says_nothing_of_it(shared_live_server: LiveServer) -> None:
    assert httpx.options(shared_live_server.endpoint).status_code == 200
    assert WARNING not in shared_live_server.log()
