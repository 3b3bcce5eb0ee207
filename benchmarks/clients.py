"""A lean HTTP/1.1 tus client on raw sockets: bodies go out with os.sendfile, downloads are read and dropped."""

from __future__ import annotations

import base64
import os
import socket
import struct
from dataclasses import dataclass, field
from urllib.parse import urlsplit

RECEIVE_BUFFER = 4 * 2**20
HEADER_LIMIT = 64 * 1024


class BenchError(RuntimeError):
    """A server answered something a benchmark cannot go on with."""


class NotPossible(Exception):
    """A server cannot do what a scenario asks: its figure is reported as n/a with this reason."""


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Body:
    """A byte range of an open file, sent with os.sendfile."""

    fd: int
    offset: int
    count: int


class Connection:
    """One keep-alive HTTP/1.1 connection. Not thread-safe: one per thread."""

    def __init__(self, host: str, port: int, timeout: float = 120.0) -> None:
        self.host = host
        self.port = port
        self.sock = socket.create_connection((host, port), timeout=timeout)
        # Blocking at the OS level (os.sendfile needs it), with the kernel enforcing the timeout instead.
        self.sock.settimeout(None)
        limit = struct.pack("ll", int(timeout), 0)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._pending = bytearray()
        self._buffer = bytearray(RECEIVE_BUFFER)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sending ------------------------------------------------------------------------------------

    def send_head(self, method: str, path: str, headers: dict[str, str], content_length: int | None) -> None:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if content_length is not None:
            lines.append(f"Content-Length: {content_length}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def send_file(self, body: Body) -> None:
        offset, remaining = body.offset, body.count
        out = self.sock.fileno()
        while remaining:
            sent = os.sendfile(out, body.fd, offset, remaining)
            if sent == 0:
                raise BenchError("the data file ended early")
            offset += sent
            remaining -= sent

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: Body | None = None,
        read_body: bool = True,
    ) -> Response:
        length = body.count if body is not None else (0 if method in ("POST", "PATCH") else None)
        self.send_head(method, path, headers, length)
        if body is not None:
            self.send_file(body)
        response = self.read_head()
        if read_body:
            response.body = self.read_body(response)
        return response

    # -- receiving ----------------------------------------------------------------------------------

    def _recv_more(self) -> None:
        n = self.sock.recv_into(self._buffer)
        if n == 0:
            raise BenchError(f"{self.host}:{self.port} closed the connection")
        self._pending += memoryview(self._buffer)[:n]

    def read_head(self) -> Response:
        while True:
            end = self._pending.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self._pending) > HEADER_LIMIT:
                raise BenchError("response head too large")
            self._recv_more()
        head = bytes(self._pending[:end]).decode("latin-1")
        del self._pending[: end + 4]
        status_line, *header_lines = head.split("\r\n")
        response = Response(int(status_line.split(" ", 2)[1]))
        for line in header_lines:
            name, _, value = line.partition(":")
            response.headers[name.strip().lower()] = value.strip()
        if response.status == 100:
            return self.read_head()
        return response

    def read_body(self, response: Response) -> bytes:
        """The whole body in memory: for small answers only."""
        if response.header("transfer-encoding") == "chunked":
            return self._read_chunked()
        length = int(response.header("content-length") or 0)
        while len(self._pending) < length:
            self._recv_more()
        body = bytes(self._pending[:length])
        del self._pending[:length]
        return body

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            while (end := self._pending.find(b"\r\n")) < 0:
                self._recv_more()
            size = int(bytes(self._pending[:end]).split(b";")[0], 16)
            del self._pending[: end + 2]
            while len(self._pending) < size + 2:
                self._recv_more()
            body += self._pending[:size]
            del self._pending[: size + 2]
            if size == 0:
                return bytes(body)

    def drain_body(self, length: int) -> int:
        """Read `length` body bytes into one reused buffer and drop them: the download reader."""
        taken = min(len(self._pending), length)
        del self._pending[:taken]
        received = taken
        view = memoryview(self._buffer)
        while received < length:
            n = self.sock.recv_into(view, min(len(view), length - received))
            if n == 0:
                raise BenchError(f"the download ended after {received} of {length} bytes")
            received += n
        return received


TUS = {"Tus-Resumable": "1.0.0"}
PATCH_HEADERS = {**TUS, "Content-Type": "application/offset+octet-stream"}


def metadata_header(filename: str, filetype: str = "application/octet-stream") -> str:
    pairs = {"filename": filename, "filetype": filetype}
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


class TusClient:
    """Creation and PATCH against one tus endpoint over one connection."""

    def __init__(self, endpoint: str) -> None:
        parts = urlsplit(endpoint)
        assert parts.hostname is not None and parts.port is not None
        self.endpoint_path = parts.path
        self.connection = Connection(parts.hostname, parts.port)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> TusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create(self, length: int, filename: str = "bench.bin") -> str:
        """POST without a body; returns the upload's path."""
        headers = {**TUS, "Upload-Length": str(length), "Upload-Metadata": metadata_header(filename)}
        response = self.connection.request("POST", self.endpoint_path, headers)
        if response.status != 201 or not response.header("location"):
            raise BenchError(f"POST answered {response.status}: {response.body[:300]!r}")
        return urlsplit(response.headers["location"]).path

    def create_with_body(self, body: Body, filename: str = "bench.bin") -> str:
        """POST carrying the whole file (creation-with-upload); returns the upload's path."""
        headers = {
            **PATCH_HEADERS,
            "Upload-Length": str(body.count),
            "Upload-Metadata": metadata_header(filename),
        }
        response = self.connection.request("POST", self.endpoint_path, headers, body)
        if response.status != 201 or not response.header("location"):
            raise BenchError(f"POST answered {response.status}: {response.body[:300]!r}")
        if response.header("upload-offset") != str(body.count):
            raise NotPossible(f"creation-with-upload took {response.header('upload-offset')} of {body.count} bytes")
        return urlsplit(response.headers["location"]).path

    def patch(self, upload_path: str, offset: int, body: Body) -> int:
        """One PATCH carrying `body`; returns the new offset."""
        headers = {**PATCH_HEADERS, "Upload-Offset": str(offset)}
        response = self.connection.request("PATCH", upload_path, headers, body)
        if response.status != 204:
            raise BenchError(f"PATCH answered {response.status}: {response.body[:300]!r}")
        return int(response.header("upload-offset") or -1)

    def start_patch(self, upload_path: str, offset: int, length: int) -> None:
        """The head of a PATCH whose body the caller sends piece by piece with `send_piece`."""
        self.connection.send_head("PATCH", upload_path, {**PATCH_HEADERS, "Upload-Offset": str(offset)}, length)

    def send_piece(self, body: Body) -> None:
        self.connection.send_file(body)

    def finish_patch(self) -> int:
        response = self.connection.read_head()
        response.body = self.connection.read_body(response)
        if response.status != 204:
            raise BenchError(f"PATCH answered {response.status}: {response.body[:300]!r}")
        return int(response.header("upload-offset") or -1)

    def upload(self, body: Body, chunk_size: int | None = None) -> str:
        """Create an upload of `body.count` bytes and send it in one PATCH, or in PATCHes of `chunk_size`."""
        path = self.create(body.count)
        step = chunk_size or body.count
        offset = 0
        while offset < body.count:
            count = min(step, body.count - offset)
            new_offset = self.patch(path, offset, Body(body.fd, body.offset + offset, count))
            if new_offset != offset + count:
                raise BenchError(f"PATCH left the offset at {new_offset}, expected {offset + count}")
            offset = new_offset
        return path

    def download(self, upload_path: str, byte_range: tuple[int, int] | None = None) -> tuple[int, int]:
        """GET the upload (optionally `Range: bytes=first-last`); returns (status, body bytes read)."""
        headers = dict(TUS)
        if byte_range is not None:
            headers["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
        self.connection.send_head("GET", upload_path, headers, None)
        response = self.connection.read_head()
        if response.status not in (200, 206):
            body = self.connection.read_body(response)
            raise BenchError(f"GET answered {response.status}: {body[:300]!r}")
        if response.header("content-length") is None:
            raise BenchError("GET answered without Content-Length")
        return response.status, self.connection.drain_body(int(response.headers["content-length"]))
