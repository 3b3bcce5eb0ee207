"""Bodies over real sockets through the server's own body path: intact, in order, framed, kept when the client goes."""

from __future__ import annotations

import random
import socket

from tests.support.live_server import LiveServer
from tests.support.tus import OFFSET_BODY, TUS, create, offset_of, patch, payload, sha256, upload_id
from tests.support.waiting import wait_until

MIB = 1024 * 1024


def patch_head(server: LiveServer, url: str, offset: int, length: int) -> bytes:
    path = url.split(str(server.port), 1)[1]
    return head("PATCH", path, server, {**OFFSET_BODY, "Upload-Offset": str(offset), "Content-Length": str(length)})


def head(method: str, path: str, server: LiveServer, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_heads(sock: socket.socket, count: int) -> list[dict[str, str]]:
    """Read `count` body-less responses (204s and HEAD answers); each as its status and lower-cased headers."""
    data = b""
    while data.count(b"\r\n\r\n") < count:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    answers = []
    for block in data.split(b"\r\n\r\n")[:count]:
        status_line, *lines = block.decode("latin-1").split("\r\n")
        answer = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        answer["status"] = status_line.split(" ")[1]
        answers.append(answer)
    return answers


def test_a_large_body_sent_in_uneven_pieces_is_stored_byte_for_byte(shared_live_server: LiveServer) -> None:
    data = payload(40 * MIB, seed=7)
    url = create(shared_live_server.endpoint, len(data))
    sizes = random.Random(3)
    with socket.create_connection(("127.0.0.1", shared_live_server.port), timeout=30) as sock:
        sock.sendall(patch_head(shared_live_server, url, 0, len(data)) + data[:12345])
        sent = 12345
        while sent < len(data):
            piece = sizes.randint(1, 900_000)
            sock.sendall(data[sent : sent + piece])
            sent += piece
        (answer,) = read_heads(sock, 1)
    assert answer["status"] == "204"
    assert answer["upload-offset"] == str(len(data))
    assert sha256((shared_live_server.upload_dir / upload_id(url)).read_bytes()) == sha256(data)


def test_requests_sent_right_behind_a_large_body_are_answered_in_order(shared_live_server: LiveServer) -> None:
    data = payload(3 * MIB + 17, seed=8)
    url = create(shared_live_server.endpoint, len(data))
    path = url.split(str(shared_live_server.port), 1)[1]
    with socket.create_connection(("127.0.0.1", shared_live_server.port), timeout=30) as sock:
        request = patch_head(shared_live_server, url, 0, len(data)) + data
        sock.sendall(request + head("HEAD", path, shared_live_server, TUS))
        first, second = read_heads(sock, 2)
    assert first["status"] == "204"
    assert first["upload-offset"] == str(len(data))
    assert second["status"] == "200"
    assert second["upload-offset"] == str(len(data))
    assert sha256((shared_live_server.upload_dir / upload_id(url)).read_bytes()) == sha256(data)


def test_every_byte_sent_before_the_client_closes_mid_body_is_kept(shared_live_server: LiveServer) -> None:
    data = payload(16 * MIB, seed=9)
    sent = 5 * MIB + 12345
    url = create(shared_live_server.endpoint, len(data))
    stored = shared_live_server.upload_dir / upload_id(url)
    with socket.create_connection(("127.0.0.1", shared_live_server.port), timeout=30) as sock:
        sock.sendall(patch_head(shared_live_server, url, 0, len(data)) + data[:sent])
        sock.shutdown(socket.SHUT_WR)  # a clean end of the stream: everything sent reaches the server
    # The file, not HEAD: a HEAD would ask a still running PATCH to let go, before it had stored everything.
    wait_until(lambda: stored.stat().st_size == sent)

    assert wait_until(lambda: offset_of(url)) == sent
    response = patch(url, sent, data[sent:])
    assert response.status_code == 204
    assert sha256(stored.read_bytes()) == sha256(data)
