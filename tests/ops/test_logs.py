"""Structured logs on a real server: with --log-format json every line is JSON, and each request's access line
carries its request id, method, path and status; text logs carry the request id too."""

from __future__ import annotations

import json
import shutil
import uuid
from typing import Any

import pytest

from tests.lifecycle.live import create, http
from tests.ops.conftest import Stopped
from tests.support.live_server import LiveServer
from tests.support.tus import OFFSET_BODY, TUS, upload_id
from tests.support.waiting import wait_until


@pytest.fixture
def json_server(ops_server: LiveServer) -> LiveServer:
    return ops_server


@pytest.fixture
def text_server(shared_live_server: LiveServer) -> LiveServer:
    """The suite's shared server logs as text, the default."""
    return shared_live_server


def json_entries(server: LiveServer) -> list[dict[str, Any]]:
    entries = []
    for line in server.log().splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue  # test_every_line_of_a_json_log_is_json says whether there should be any
    return entries


def entries_for(server: LiveServer, request_id: str, logger: str | None = None) -> list[dict[str, Any]]:
    return [
        entry
        for entry in json_entries(server)
        if entry.get("request_id") == request_id and (logger is None or entry.get("logger") == logger)
    ]


def access_entry(server: LiveServer, request_id: str) -> dict[str, Any]:
    entries = wait_until(lambda: entries_for(server, request_id, "tusd_py.access"))
    assert len(entries) == 1, entries
    return entries[0]


def test_every_line_of_a_json_log_is_json(stopped_mid_patch: Stopped) -> None:
    """A whole life with JSON logs: start-up, uploads, errors, a shutdown that cut a download off, exit."""
    lines = stopped_mid_patch.log.splitlines()

    not_json = []
    for line in lines:
        try:
            json.loads(line)
        except ValueError:
            not_json.append(line)
    assert len(lines) > 5
    assert not_json == []


def test_a_json_access_line_carries_request_id_method_path_and_status(json_server: LiveServer) -> None:
    url = create(json_server.endpoint, 10)
    rid = "access-" + uuid.uuid4().hex
    http.patch(url, content=b"abc", headers={**OFFSET_BODY, "Upload-Offset": "0", "X-Request-ID": rid})

    entry = access_entry(json_server, rid)

    assert (entry["method"], entry["path"], entry["status"]) == ("PATCH", "/files/" + upload_id(url), 204)


def test_a_json_access_line_carries_the_request_id_the_server_made_up(json_server: LiveServer) -> None:
    response = http.head(json_server.endpoint + "0123456789abcdef0123456789abcdef", headers=TUS)

    entry = access_entry(json_server, response.headers["x-request-id"])

    assert (entry["method"], entry["status"]) == ("HEAD", 404)


def test_a_json_access_line_ignores_an_insane_client_request_id(json_server: LiveServer) -> None:
    insane = "not sane " + uuid.uuid4().hex
    response = http.get(json_server.base_url + "/healthz", headers={"X-Request-ID": insane})

    entry = access_entry(json_server, response.headers["x-request-id"])

    assert entry["path"] == "/healthz"
    assert insane not in json_server.log()


def test_a_line_logged_while_handling_a_request_carries_its_request_id(json_server: LiveServer) -> None:
    rid = "failing-" + uuid.uuid4().hex
    shutil.rmtree(json_server.upload_dir)  # /readyz now answers 503, which is logged as a warning
    try:
        assert http.get(json_server.base_url + "/readyz", headers={"X-Request-ID": rid}).status_code == 503
    finally:
        json_server.upload_dir.mkdir()

    errors = wait_until(lambda: [e for e in entries_for(json_server, rid) if e["level"] == "warning"])
    assert "/readyz" in errors[0]["message"]


def test_a_text_access_line_carries_the_request_id(text_server: LiveServer) -> None:
    url = create(text_server.endpoint, 10)
    rid = "text-" + uuid.uuid4().hex
    http.patch(url, content=b"abc", headers={**OFFSET_BODY, "Upload-Offset": "0", "X-Request-ID": rid})

    line = wait_until(lambda: [line for line in text_server.log().splitlines() if f"[{rid}]" in line])

    assert f"PATCH /files/{upload_id(url)} 204" in line[0]
