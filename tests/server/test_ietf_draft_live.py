"""The IETF draft under `tusd-py serve`: 104 (Upload Resumption Supported) on a raw socket, and curl."""

from __future__ import annotations

import base64
import hashlib
import random
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import LiveServer, start_live
from tests.support.programs import require_program
from tests.support.waiting import wait_until

DEADLINE = 30.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_live(tmp_path_factory.mktemp("ietf"), "--max-size", "64MiB", "--expire-after", "1h")
    try:
        yield live
    finally:
        live.stop()


class RawClient:
    """One HTTP/1.1 connection on which a test writes a request piece by piece and reads every response head."""

    def __init__(self, server: LiveServer) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE)
        self.host = f"127.0.0.1:{server.port}"
        self.received = b""

    def send_head(self, method: str, path: str, headers: dict[str, str]) -> None:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", *(f"{k}: {v}" for k, v in headers.items())]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def read_until(self, pattern: bytes) -> re.Match[bytes]:
        """Read until `pattern` matches what arrived so far (a 30 s socket timeout bounds each read)."""
        while (match := re.search(pattern, self.received, re.S)) is None:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed before {pattern!r}; got {self.received!r}")
            self.received += chunk
        return match

    def close(self) -> None:
        self.sock.close()


def interims(received: bytes) -> list[str]:
    return [head.decode() for head in re.findall(rb"HTTP/1\.1 1\d\d [^\r]*\r\n.*?\r\n\r\n", received, re.S)]


def test_the_104_with_the_location_arrives_before_the_body_is_even_sent(server: LiveServer) -> None:
    client = RawClient(server)
    try:
        body = b"early location"
        client.send_head(
            "POST",
            "/files/",
            {"Upload-Draft-Interop-Version": "8", "Upload-Complete": "?1", "Content-Length": str(len(body))},
        )
        interim = client.read_until(rb"HTTP/1\.1 104 Upload Resumption Supported\r\n(.*?)\r\n\r\n")
        head = interim.group(1).decode().lower()
        location = re.search(r"location: (\S+)", head)
        assert location is not None
        assert "upload-limit: max-size=67108864, min-size=0, max-age=" in head
        assert "upload-draft-interop-version: 8" in head
        client.sock.sendall(body)
        final = client.read_until(rb"HTTP/1\.1 201 [^\r]*\r\n(.*?)\r\n\r\n")
        assert f"location: {location.group(1)}" in final.group(1).decode().lower()
        assert client.received.index(b"HTTP/1.1 104") < client.received.index(b"HTTP/1.1 201")
    finally:
        client.close()
    assert httpx.get(location.group(1)).content == body


def test_a_long_body_gets_104_progress_with_its_offset_and_never_a_location(server: LiveServer) -> None:
    created = httpx.post(server.endpoint, headers={"Upload-Draft-Interop-Version": "5", "Upload-Complete": "?0"})
    url = created.headers["Location"]
    data = random.Random(5).randbytes(2 * 2**20)
    client = RawClient(server)
    try:
        client.send_head(
            "PATCH",
            url.removeprefix(server.base_url),
            {
                "Upload-Draft-Interop-Version": "5",
                "Upload-Complete": "?1",
                "Upload-Offset": "0",
                "Content-Length": str(len(data)),
            },
        )
        client.sock.sendall(data[: 2**20])
        # The rest waits until the server has said how far it got: a 104 during the body, not after it.
        progress = client.read_until(rb"HTTP/1\.1 104 [^\r]*\r\n(.*?)\r\n\r\n")
        assert re.search(rb"upload-offset: \d+", progress.group(1).lower())
        client.sock.sendall(data[2**20 :])
        client.read_until(rb"HTTP/1\.1 201 [^\r]*\r\n.*?\r\n\r\n")
        for head in interims(client.received):
            assert "location:" not in head.lower()
    finally:
        client.close()
    download = httpx.get(url)
    assert hashlib.sha256(download.content).digest() == hashlib.sha256(data).digest()
    # The body went past user space (splice): its SHA-256 was read once from storage when it completed.
    assert (
        download.headers["Repr-Digest"] == "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"
    )


def test_no_104_for_tus_requests_or_refused_ones(server: LiveServer) -> None:
    requests = [
        ("POST", {"Tus-Resumable": "1.0.0", "Upload-Length": "3", "Content-Type": "application/offset+octet-stream"}),
        ("POST", {"Upload-Draft-Interop-Version": "2", "Upload-Complete": "?1"}),
        ("POST", {"Upload-Draft-Interop-Version": "8", "Upload-Complete": "?1", "Upload-Length": "999999999999"}),
    ]
    for method, headers in requests:
        client = RawClient(server)
        try:
            client.send_head(method, "/files/", {**headers, "Content-Length": "3"})
            client.sock.sendall(b"abc")
            client.read_until(rb"HTTP/1\.1 [2-5]\d\d [^\r]*\r\n.*?\r\n\r\n")
            assert interims(client.received) == [], headers
        finally:
            client.close()


def test_a_104_does_not_replace_100_continue(server: LiveServer) -> None:
    client = RawClient(server)
    try:
        client.send_head(
            "POST",
            "/files/",
            {
                "Upload-Draft-Interop-Version": "6",
                "Upload-Complete": "?1",
                "Content-Length": "2",
                "Expect": "100-continue",
            },
        )
        client.read_until(rb"HTTP/1\.1 104 [^\r]*\r\n.*?\r\n\r\n")
        assert b"HTTP/1.1 100 Continue\r\n\r\n" in client.received
        client.sock.sendall(b"ok")
        client.read_until(rb"HTTP/1\.1 201 ")
    finally:
        client.close()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_curl_one_shot_upload(server: LiveServer, tmp_path: Path) -> None:
    curl = require_program("curl", "the README's one-shot upload")
    source = tmp_path / "photo.bin"
    source.write_bytes(random.Random(1).randbytes(300_000))
    result = subprocess.run(
        [curl, "-sS", "-i", "--data-binary", f"@{source}", "-H", "Upload-Draft-Interop-Version: 8",
         "-H", "Upload-Complete: ?1", "-H", "Content-Type: image/jpeg", server.endpoint],
        capture_output=True, text=True, timeout=DEADLINE, check=True,
    )  # fmt: skip
    final = result.stdout.split("HTTP/1.1 201", 1)[1]
    location = re.search(r"(?im)^location: (\S+)", final)
    assert location is not None
    assert hashlib.sha256(httpx.get(location.group(1)).content).hexdigest() == sha256_of(source)


def test_curl_interrupted_upload_resumed_by_head_and_patch(server: LiveServer, tmp_path: Path) -> None:
    curl = require_program("curl", "an interrupted draft upload resumed by curl")
    source = tmp_path / "big.bin"
    source.write_bytes(random.Random(2).randbytes(8 * 2**20))  # 32 s at 256K: stopped long before
    dumped = tmp_path / "headers.txt"
    upload = subprocess.Popen(
        [curl, "-sS", "-o", "/dev/null", "-D", str(dumped), "--limit-rate", "256K", "--data-binary", f"@{source}",
         "-H", "Upload-Draft-Interop-Version: 8", "-H", "Upload-Complete: ?1", server.endpoint],
    )  # fmt: skip
    try:
        # curl writes the 104 it received, Location included, to its header dump: where to resume.
        location = wait_until(
            lambda: re.search(r"(?im)^location: (\S+)", dumped.read_text()) if dumped.exists() else None,
            timeout=DEADLINE,
        ).group(1)
        wait_until(lambda: _stored(server, location) > 0, timeout=DEADLINE)
    finally:
        upload.kill()
        upload.wait()
    head = subprocess.run(
        [curl, "-sS", "-I", "-H", "Upload-Draft-Interop-Version: 8", location],
        capture_output=True, text=True, timeout=DEADLINE, check=True,
    )  # fmt: skip
    offset = int(re.search(r"(?im)^upload-offset: (\d+)", head.stdout).group(1))  # type: ignore[union-attr]
    assert 0 < offset < source.stat().st_size
    rest = tmp_path / "rest.bin"
    rest.write_bytes(source.read_bytes()[offset:])
    patch = subprocess.run(
        [curl, "-sS", "-i", "-X", "PATCH", "--data-binary", f"@{rest}", "-H", "Upload-Draft-Interop-Version: 8",
         "-H", "Upload-Complete: ?1", "-H", f"Upload-Offset: {offset}",
         "-H", "Content-Type: application/partial-upload", location],
        capture_output=True, text=True, timeout=DEADLINE, check=True,
    )  # fmt: skip
    assert "HTTP/1.1 200" in patch.stdout and re.search(r"(?im)^upload-complete: \?1", patch.stdout)
    assert hashlib.sha256(httpx.get(location).content).hexdigest() == sha256_of(source)


def _stored(server: LiveServer, location: str) -> int:
    path = server.upload_dir / location.rsplit("/", 1)[-1]
    return path.stat().st_size if path.exists() else 0


@pytest.mark.parametrize("stop", ["sigkill", "sigterm"])
def test_a_digest_stated_at_creation_is_checked_after_a_server_restart(tmp_path: Path, stop: str) -> None:
    """Repr-Digest on a creation with Upload-Complete: ?0 is kept with the upload: a restarted server still
    refuses the wrong last body (keeping nothing of it) and accepts the right one."""
    live = start_live(tmp_path, "--max-size", "64MiB")
    try:
        data = random.Random(3).randbytes(3 * 2**20)
        stated = "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"
        draft = {"Upload-Draft-Interop-Version": "8"}
        created = httpx.post(
            live.endpoint,
            headers={**draft, "Upload-Complete": "?0", "Repr-Digest": stated},
            content=data[: 2**20],
            timeout=DEADLINE,
        )
        assert created.status_code == 201, created.text
        url = created.headers["Location"]
        live.kill() if stop == "sigkill" else live.stop()
        live.start()
        append = {**draft, "Upload-Complete": "?1", "Content-Type": "application/partial-upload"}
        tampered = data[2**20 : -1] + b"\x00"
        refused = httpx.patch(url, headers={**append, "Upload-Offset": str(2**20)}, content=tampered, timeout=DEADLINE)
        assert refused.status_code == 400 and refused.json()["error_code"] == "digest_mismatch"
        head = httpx.head(url, headers=draft, timeout=DEADLINE)
        assert head.headers["Upload-Offset"] == str(2**20) and head.headers["Upload-Complete"] == "?0"
        done = httpx.patch(
            url, headers={**append, "Upload-Offset": str(2**20)}, content=data[2**20 :], timeout=DEADLINE
        )
        assert done.status_code == 200, done.text
        download = httpx.get(url, timeout=DEADLINE)
        assert hashlib.sha256(download.content).digest() == hashlib.sha256(data).digest()
        assert download.headers["Repr-Digest"] == stated
    finally:
        live.stop()


def test_a_new_request_on_an_upload_ends_the_one_in_flight(server: LiveServer) -> None:
    """As the draft recommends: a HEAD while an append is still open ends that append (keeping its bytes)
    and answers with the offset it reached; the client resumes from there."""
    data = random.Random(4).randbytes(2**20)
    draft = {"Upload-Draft-Interop-Version": "8"}
    created = httpx.post(server.endpoint, headers={**draft, "Upload-Complete": "?0"}, timeout=DEADLINE)
    url = created.headers["Location"]
    raw = RawClient(server)
    try:
        raw.send_head(
            "PATCH",
            url.removeprefix(server.base_url),
            {**draft, "Upload-Complete": "?1", "Upload-Offset": "0", "Content-Type": "application/partial-upload",
             "Content-Length": str(len(data))},
        )  # fmt: skip
        raw.sock.sendall(data[:100_000])
        wait_until(lambda: _stored(server, url) >= 100_000, timeout=DEADLINE)
        head = httpx.head(url, headers=draft, timeout=DEADLINE)
        assert head.status_code == 204 and head.headers["Upload-Complete"] == "?0"
        offset = int(head.headers["Upload-Offset"])
        assert offset == 100_000
        ended = raw.read_until(rb"HTTP/1\.1 ([2-5]\d\d) [^\r]*\r\n")  # the final answer, after any 104
        assert ended.group(1) == b"409"  # the interrupted append, told where it stopped
    finally:
        raw.close()
    rest = {
        **draft,
        "Upload-Complete": "?1",
        "Upload-Offset": str(offset),
        "Content-Type": "application/partial-upload",
    }
    done = httpx.patch(url, headers=rest, content=data[offset:], timeout=DEADLINE)
    assert done.status_code == 200
    assert hashlib.sha256(httpx.get(url, timeout=DEADLINE).content).digest() == hashlib.sha256(data).digest()
