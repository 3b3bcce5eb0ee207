"""Form uploads: each file of a multipart/form-data POST becomes one finished upload, fields its metadata."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.forms.raw_form import form_file_opening
from tests.support.live_server import LiveServer
from tests.support.programs import require_program
from tests.support.tus import payload
from tests.support.waiting import eventually


def curl_form(server: LiveServer, *fields: str) -> dict[str, Any]:
    curl = require_program("curl", "form uploads are tested with curl -F")
    command = [curl, "-sS", "--fail-with-body", server.endpoint + "form"]
    for item in fields:
        command += ["-F", item]
    result = subprocess.run(command, capture_output=True, timeout=60, check=True)
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


async def rows_of_batch(http: httpx.AsyncClient, server: LiveServer, batch: str) -> list[dict[str, Any]]:
    listing = (await http.get(server.endpoint, params={"batch": batch})).json()
    rows: list[dict[str, Any]] = listing["uploads"]
    return rows


async def test_curl_sends_files_that_become_finished_uploads(
    http: httpx.AsyncClient, form_server: LiveServer, tmp_path: Path
) -> None:
    first, second = payload(300_000, seed=1), payload(5000, seed=2)
    (tmp_path / "one.bin").write_bytes(first)
    (tmp_path / "two.txt").write_bytes(second)
    answer = curl_form(
        form_server,
        "batch=curl-form",
        "note=before",
        f"a=@{tmp_path / 'one.bin'}",
        "note=between",
        f"b=@{tmp_path / 'two.txt'};type=text/plain",
        "after=ignored",
    )
    one, two = answer["uploads"]
    assert (one["name"], one["size"], one["sha256"]) == ("one.bin", len(first), hashlib.sha256(first).hexdigest())
    assert (two["name"], two["size"], two["type"]) == ("two.txt", len(second), "text/plain")
    assert two["sha256"] == hashlib.sha256(second).hexdigest()
    assert (await http.get(one["url"])).content == first
    assert (await http.get(two["url"])).content == second

    rows = {row["id"]: row for row in await rows_of_batch(http, form_server, "curl-form")}
    assert rows[one["id"]]["status"] == "completed"
    assert rows[one["id"]]["metadata"]["note"] == "before"
    assert rows[two["id"]]["metadata"]["note"] == "between"
    assert "after" not in rows[two["id"]]["metadata"]
    assert rows[one["id"]]["source"] == {"type": "form", "field": "a"}
    summary = (await http.get(form_server.endpoint + "batches/curl-form")).json()
    assert (summary["files"], summary["finished"]) == (2, 2)


async def test_a_redirect_field_answers_303_with_the_new_uploads(
    http: httpx.AsyncClient, form_server: LiveServer
) -> None:
    response = await http.post(
        form_server.endpoint + "form",
        data={"redirect": "/done?from=form"},
        files={"file": ("r.txt", b"redirected", "text/plain")},
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/done?from=form&upload=")
    upload = location.rsplit("=", 1)[1]
    assert (await http.get(form_server.endpoint + upload)).content == b"redirected"


async def test_a_redirect_to_another_site_is_refused(http: httpx.AsyncClient, form_server: LiveServer) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = await http.post(form_server.endpoint + "form", data={"redirect": target}, files={"f": ("x", b"x")})
        assert response.status_code == 400
        assert response.json()["error_code"] == "invalid_redirect"


async def test_an_empty_file_input_is_skipped(http: httpx.AsyncClient, form_server: LiveServer) -> None:
    response = await http.post(
        form_server.endpoint + "form",
        files=[("empty", ("", b"", "application/octet-stream")), ("real", ("r.bin", b"abc"))],
    )
    assert response.status_code == 201, response.text
    assert [row["name"] for row in response.json()["uploads"]] == ["r.bin"]


async def test_a_file_above_max_size_is_413_and_never_listed_as_finished(
    http: httpx.AsyncClient, form_server: LiveServer
) -> None:
    response = await http.post(
        form_server.endpoint + "form",
        data={"batch": "too-large-form"},
        files=[("small", ("s.bin", b"ok")), ("big", ("big.bin", payload(2 * 2**20)))],
    )
    assert response.status_code == 413
    assert response.json()["error_code"] == "file_too_large"
    small_id = response.json()["details"]["uploads"][0]
    rows = {row["id"]: row for row in await rows_of_batch(http, form_server, "too-large-form")}
    assert rows.pop(small_id)["status"] == "completed"
    [big] = rows.values()
    assert big["status"] == "failed"
    assert big["completed_at"] is None and big["download_url"] is None


async def test_limits_on_parts_and_fields_are_413(http: httpx.AsyncClient, form_server: LiveServer) -> None:
    many = await http.post(
        form_server.endpoint + "form", data={f"f{i}": "x" for i in range(11)}, files={"f": ("f", b"x")}
    )
    assert (many.status_code, many.json()["error_code"]) == (413, "too_many_parts")
    long = await http.post(form_server.endpoint + "form", data={"big": "x" * 2000}, files={"f": ("f", b"x")})
    assert (long.status_code, long.json()["error_code"]) == (413, "field_too_large")


async def test_malformed_bodies_are_4xx_json(http: httpx.AsyncClient, form_server: LiveServer) -> None:
    url = form_server.endpoint + "form"
    cases = [
        ({"Content-Type": "application/json"}, b"{}", 415, "unsupported_media_type"),
        ({"Content-Type": "multipart/form-data"}, b"x", 400, "invalid_multipart"),
        ({"Content-Type": "multipart/form-data; boundary=b"}, b"garbage\r\n", 400, "invalid_multipart"),
        (
            {"Content-Type": "multipart/form-data; boundary=b"},
            b"--b\r\nContent-Disposition: attachment\r\n\r\nx\r\n--b--\r\n",
            400,
            "invalid_multipart",
        ),
        (
            {"Content-Type": "multipart/form-data; boundary=b"},
            b'--b\r\nContent-Disposition: form-data; name="a"\r\n' + b"X-Long: " + b"y" * 20000 + b"\r\n\r\n",
            400,
            "invalid_multipart",
        ),
    ]
    for headers, body, status, code in cases:
        response = await http.post(url, headers=headers, content=body)
        assert (response.status_code, response.json()["error_code"]) == (status, code), body[:60]


async def test_a_body_cut_before_its_closing_boundary_leaves_no_finished_file(
    http: httpx.AsyncClient, form_server: LiveServer
) -> None:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="batch"\r\n\r\ncut-form\r\n'
        b'--b\r\nContent-Disposition: form-data; name="f"; filename="cut.bin"\r\n\r\n' + payload(10_000)
    )
    response = await http.post(
        form_server.endpoint + "form", headers={"Content-Type": "multipart/form-data; boundary=b"}, content=body
    )
    assert (response.status_code, response.json()["error_code"]) == (400, "invalid_multipart")
    [row] = await rows_of_batch(http, form_server, "cut-form")
    assert row["status"] == "failed"
    assert row["source"]["error_code"] == "invalid_multipart"


async def test_a_dropped_request_leaves_the_file_failed_not_finished(
    http: httpx.AsyncClient, form_server: LiveServer
) -> None:
    opening = form_file_opening(form_server, batch="dropped-form", filename="drop.bin", boundary="b", length=900_000)
    with socket.create_connection(("127.0.0.1", form_server.port), timeout=30) as sock:
        sock.sendall(opening + payload(200_000))

        async def stored() -> bool:
            rows = await rows_of_batch(http, form_server, "dropped-form")
            return bool(rows) and rows[0]["offset"] > 0

        await eventually(stored, timeout=30)

    async def failed() -> bool:
        rows = await rows_of_batch(http, form_server, "dropped-form")
        return rows[0]["status"] == "failed"

    await eventually(failed, timeout=30)
    [row] = await rows_of_batch(http, form_server, "dropped-form")
    assert row["source"]["error_code"] == "form_request_ended"
    assert row["completed_at"] is None


async def test_a_form_file_tells_progress_then_completed(http: httpx.AsyncClient, form_server: LiveServer) -> None:
    response = await http.post(form_server.endpoint + "form", files={"f": ("p.bin", payload(500_000))})
    upload = response.json()["uploads"][0]
    events_url = upload["url"].replace("http://", "ws://") + "/events?since=0"
    from tests.events.clients import follow_ws, is_type

    follower = await follow_ws(events_url, stop_after=is_type("completed"))
    types = [event["type"] for event in follower.events]
    assert types[0] == "created" and "progress" in types and types[-1] == "completed"
