"""Hostile form bodies: malformed, truncated, stalled. Always a 4xx JSON answer, never a finished half-file."""

from __future__ import annotations

import json
import random
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.forms.raw_form import form_file_opening
from tests.support.live_server import LiveServer, start_live
from tests.support.tus import payload
from tests.support.waiting import wait_until

BOUNDARY = b"hostile"


@pytest.fixture(scope="module")
def impatient_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_live(tmp_path_factory.mktemp("impatient"), "--network-timeout", "1s", "--form-max-parts", "50")
    yield server
    server.stop()


def hostile_bodies() -> list[bytes]:
    part = b'--hostile\r\nContent-Disposition: form-data; name="f"; filename="x.bin"\r\n\r\n'
    rng = random.Random(20)
    bodies = [
        b"",
        b"--hostile--\r\n",
        b"--hostile\r\n\r\n\r\n--hostile--\r\n",
        part,
        part + b"data without an end",
        part + b"abc\r\n--hostile\r\n",
        b'--hostile\r\nContent-Disposition: form-data; name="a"\r\nContent-Disposition: form-data\r\n\r\nx\r\n',
        b"--hostile\r\n" + b"X: y\r\n" * 100 + b"\r\n",
        b'--hostile\r\nContent-Disposition: form-data; name="a"\r\n\r\n' + b"x" * 70_000 + b"\r\n--hostile--\r\n",
        b"--hostile\r\n" * 200 + b"--hostile--\r\n",
        b"\x00\xff" * 5000,
    ]
    bodies += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))) for _ in range(3)]
    bodies += [part[: rng.randrange(len(part))] for _ in range(2)]
    return bodies


@pytest.mark.parametrize("body", hostile_bodies())
def test_a_hostile_body_is_a_4xx_json_error_and_nothing_is_finished(impatient_server: LiveServer, body: bytes) -> None:
    before = httpx.get(impatient_server.endpoint, params={"status": "completed"}).json()["total"]
    response = httpx.post(
        impatient_server.endpoint + "form",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=hostile"},
        timeout=30,
    )
    assert 400 <= response.status_code < 500, response.text
    error = response.json()
    finished = error["details"].get("uploads", [])  # files whose part ended before the problem: whole, and said so
    assert httpx.get(impatient_server.endpoint, params={"status": "completed"}).json()["total"] == before + len(
        finished
    )
    assert "internal_error" not in impatient_server.log()


def test_a_form_that_stalls_mid_file_is_408_and_its_file_failed(impatient_server: LiveServer) -> None:
    opening = form_file_opening(
        impatient_server, batch="stalled-form", filename="slow.bin", boundary="hostile", length=1_000_000
    )
    with socket.create_connection(("127.0.0.1", impatient_server.port), timeout=60) as sock:
        sock.sendall(opening + payload(50_000))
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 408 " in status_line, answer[:300]
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["error_code"] == "body_timeout"
    [row] = httpx.get(impatient_server.endpoint, params={"batch": "stalled-form"}).json()["uploads"]
    assert row["status"] == "failed"
    assert row["completed_at"] is None


def test_a_huge_form_is_streamed_not_held(impatient_server: LiveServer, tmp_path: Path) -> None:
    """4 MiB in 64 KiB pieces, more than the queue between parser and storage holds: what matters is that it all
    arrives intact, in order, through the backpressure (memory is not asserted in a loaded test)."""
    data = payload(4 * 2**20, seed=9)

    def pieces() -> Iterator[bytes]:
        yield b'--hostile\r\nContent-Disposition: form-data; name="f"; filename="huge.bin"\r\n\r\n'
        for start in range(0, len(data), 65536):
            yield data[start : start + 65536]
        yield b"\r\n--hostile--\r\n"

    response = httpx.post(
        impatient_server.endpoint + "form",
        content=pieces(),
        headers={"Content-Type": "multipart/form-data; boundary=hostile"},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    [upload] = response.json()["uploads"]
    assert upload["size"] == len(data)
    assert httpx.get(upload["url"], timeout=60).content == data


def test_a_server_stopping_mid_form_answers_503_and_marks_its_file_failed(tmp_path: Path) -> None:
    """SIGTERM while a form waits for its next bytes: the request ends at once with a 503 JSON error (not a 500
    after uvicorn's graceful timeout), and the file it was receiving is failed, never finished."""
    server = start_live(tmp_path, "--network-timeout", "5m")
    try:
        opening = form_file_opening(
            server, batch="stopped-form", filename="cut.bin", boundary="hostile", length=1_000_000
        )
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
            sock.sendall(opening + payload(200_000))
            wait_until(lambda: any(p.stat().st_size >= 200_000 for p in server.upload_dir.glob("[0-9a-f]*[0-9a-f]")))
            server.stop()
            answer = b""
            while data := sock.recv(65536):
                answer += data
        status_line, _, rest = answer.partition(b"\r\n")
        assert b" 503 " in status_line, answer[:300]
        assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["error_code"] == "server_shutting_down"
        server.start()
        [row] = httpx.get(server.endpoint, params={"batch": "stopped-form"}).json()["uploads"]
        assert row["status"] == "failed" and row["completed_at"] is None
        assert row["source"]["error_code"] == "server_shutting_down"
    finally:
        server.stop()
