"""Downloads the kernel sends from the file to the socket (sendfile), against real `tusd-py serve` processes.

`tusd_py_bytes_sendfile_total` in /metrics says which path a download took; with `--sendfile false` the app reads
the file and sends it, and both paths must give the same answers byte for byte.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import LiveServer, start_live
from tests.support.tus import create, patch, payload, sha256, upload_id

MIB = 1024 * 1024
DATA = payload(20 * MIB, seed=41)


def sent_by_kernel(server: LiveServer) -> int:
    text = httpx.get(server.base_url + "/metrics").text
    found = re.search(r"^tusd_py_bytes_sendfile_total (\S+)$", text, re.MULTILINE)
    assert found, text
    return int(float(found.group(1)))


def uploaded(server: LiveServer, data: bytes = DATA) -> str:
    url = create(server.endpoint, len(data))
    assert patch(url, 0, data).status_code == 204
    return url


@pytest.fixture(scope="module")
def without_sendfile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_live(tmp_path_factory.mktemp("no-sendfile"), "--sendfile", "false")
    yield server
    server.stop()


def test_a_whole_file_is_sent_by_the_kernel_byte_for_byte(shared_live_server: LiveServer) -> None:
    url = uploaded(shared_live_server)
    before = sent_by_kernel(shared_live_server)

    response = httpx.get(url)

    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(DATA))
    assert sha256(response.content) == sha256(DATA)
    assert sent_by_kernel(shared_live_server) - before == len(DATA)


def test_one_range_is_sent_by_the_kernel(shared_live_server: LiveServer) -> None:
    url = uploaded(shared_live_server)
    before = sent_by_kernel(shared_live_server)

    response = httpx.get(url, headers={"Range": f"bytes={MIB + 3}-{15 * MIB}"})

    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {MIB + 3}-{15 * MIB}/{len(DATA)}"
    assert response.content == DATA[MIB + 3 : 15 * MIB + 1]
    assert sent_by_kernel(shared_live_server) - before == 15 * MIB - MIB - 2


def test_several_ranges_give_the_same_parts_with_and_without_sendfile(
    shared_live_server: LiveServer, without_sendfile: LiveServer
) -> None:
    ranges = "bytes=0-9,4194304-8388607,-100"
    answers = []
    for server in (shared_live_server, without_sendfile):
        response = httpx.get(uploaded(server), headers={"Range": ranges})
        assert response.status_code == 206
        boundary = response.headers["content-type"].split("boundary=")[1]
        answers.append(response.content.replace(boundary.encode(), b"BOUNDARY"))

    assert answers[0] == answers[1]
    assert DATA[4 * MIB : 8 * MIB] in answers[0] and DATA[-100:] in answers[0]


def test_with_sendfile_off_the_app_reads_and_sends_the_same_bytes(without_sendfile: LiveServer) -> None:
    url = uploaded(without_sendfile)

    response = httpx.get(url)

    assert response.status_code == 200
    assert sha256(response.content) == sha256(DATA)
    assert sent_by_kernel(without_sendfile) == 0


def test_downloads_one_after_another_on_one_connection_all_complete(shared_live_server: LiveServer) -> None:
    url = uploaded(shared_live_server)
    with httpx.Client() as client:  # one keep-alive connection: each answer must end where its length says
        for first in (0, 5 * MIB, 19 * MIB):
            response = client.get(url, headers={"Range": f"bytes={first}-"})
            assert response.status_code == 206
            assert response.content == DATA[first:]
        assert sha256(client.get(url).content) == sha256(DATA)


def test_a_deleted_upload_answers_404_before_any_byte(shared_live_server: LiveServer) -> None:
    url = uploaded(shared_live_server, payload(MIB, seed=42))
    (shared_live_server.upload_dir / upload_id(url)).unlink()  # gone from under the server

    response = httpx.get(url)

    assert response.status_code in (404, 410)
    assert response.json()["error_code"]


def get_and_read(server: LiveServer, url: str, count: int) -> socket.socket:
    """A raw GET whose client reads `count` bytes of the answer and then nothing more."""
    path = url.split(str(server.port), 1)[1]
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    received = 0
    while received < count:
        chunk = sock.recv(min(65536, count - received))
        assert chunk, "the server closed early"
        received += len(chunk)
    return sock


def read_until_closed(sock: socket.socket, timeout: float) -> int:
    sock.settimeout(timeout)
    total = 0
    while chunk := sock.recv(1024 * 1024):
        total += len(chunk)
    return total


def test_a_client_that_drops_mid_download_leaves_the_server_serving(shared_live_server: LiveServer) -> None:
    url = uploaded(shared_live_server)
    sock = get_and_read(shared_live_server, url, MIB)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()  # a reset with most of the file unsent

    response = httpx.get(url)

    assert sha256(response.content) == sha256(DATA)
    assert "Traceback" not in shared_live_server.log()


def test_a_client_that_stops_reading_is_cut_off_after_the_network_timeout(tmp_path: Path) -> None:
    server = start_live(tmp_path, "--network-timeout", "1s")
    try:
        url = uploaded(server)
        sock = get_and_read(server, url, MIB)
        time.sleep(2.5)  # the server's sendfile finds the socket full for longer than the timeout

        rest = read_until_closed(sock, timeout=15)  # what the socket buffers held, then the close

        sock.close()
        assert MIB + rest < len(DATA)  # the answer (its head included) was cut short, not completed
        assert sha256(httpx.get(url).content) == sha256(DATA)
        assert "Traceback" not in server.log()
    finally:
        server.stop()


def test_sigterm_during_a_stalled_download_still_stops_the_server(tmp_path: Path) -> None:
    server = start_live(tmp_path, "--shutdown-timeout", "1s", "--network-timeout", "0")
    try:
        url = uploaded(server)
        sock = get_and_read(server, url, MIB)
        assert server.process is not None
        started = time.monotonic()

        server.process.terminate()
        server.process.wait(15)

        assert time.monotonic() - started < 10
        sock.close()
    finally:
        server.stop()
