"""The raw sink: socket → file with nothing in between, the most any server here could do on loopback.

By default the body goes from the socket through a pipe into the file with splice(2), so it never enters the
process (the kernel's one copy, into the page cache); `--copy` reads it with recv_into into an 8 MiB buffer and
os.writes it, the most a server that reads its bodies could do.

It speaks just enough tus for the benchmark's client (POST creates, with its body if any, PATCH appends, HEAD
tells the offset, GET sends the file with os.sendfile, one Range at most) and checks nothing: it is the hardware's
limit, not a server.

    python -m benchmarks.sink --port PORT --dir DIRECTORY [--copy]
"""

from __future__ import annotations

import argparse
import fcntl
import itertools
import os
import signal
import socket
import socketserver
import sys
import threading
from pathlib import Path

BUFFER_SIZE = 8 * 2**20
HEADER_LIMIT = 64 * 1024
PIPE_SIZE = 2**20
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


class SinkHandler(socketserver.BaseRequestHandler):
    server: SinkServer

    def setup(self) -> None:
        self.sock: socket.socket = self.request
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray(BUFFER_SIZE)
        self.view = memoryview(self.buffer)
        self.pending = b""

    def handle(self) -> None:
        while True:
            head = self._read_head()
            if head is None:
                return
            method, path, headers = head
            length = int(headers.get("content-length", "0"))
            name = path.rstrip("/").rsplit("/", 1)[-1]
            if method == "POST":  # with a body: creation-with-upload
                upload = self.server.new_upload()
                offset = self._append(self.server.directory / upload, length) if length else 0
                self._answer(201, {"Location": f"/files/{upload}", "Upload-Offset": str(offset)})
            elif method == "PATCH":
                size = self._append(self.server.directory / name, length)
                self._answer(204, {"Upload-Offset": str(size)})
            elif method == "HEAD":
                size = os.stat(self.server.directory / name).st_size
                self._answer(200, {"Upload-Offset": str(size), "Cache-Control": "no-store"})
            elif method == "GET":
                self._send_file(self.server.directory / name, headers.get("range"))
            elif method == "DELETE":
                (self.server.directory / name).unlink(missing_ok=True)
                self._answer(204, {})
            elif method == "OPTIONS":
                self._answer(204, {"Tus-Version": "1.0.0"})
            else:
                self._answer(405, {})

    def _read_head(self) -> tuple[str, str, dict[str, str]] | None:
        data = self.pending
        while b"\r\n\r\n" not in data:
            if len(data) > HEADER_LIMIT:
                return None
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, self.pending = data.partition(b"\r\n\r\n")
        return parse_head(head)

    def _append(self, path: Path, length: int) -> int:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o664)
        try:
            remaining = length
            if self.pending:
                first, self.pending = self.pending[:remaining], self.pending[remaining:]
                os.write(fd, first)
                remaining -= len(first)
            if self.server.splice:
                self._splice(path, remaining)
                return os.fstat(fd).st_size
            while remaining:
                n = self.sock.recv_into(self.view, min(BUFFER_SIZE, remaining))
                if n == 0:
                    break
                written = 0
                while written < n:
                    written += os.write(fd, self.view[written:n])
                remaining -= n
            return os.fstat(fd).st_size
        finally:
            os.close(fd)

    def _splice(self, path: Path, remaining: int) -> None:
        """socket → pipe → file, all in the kernel (splice refuses O_APPEND, hence a descriptor of its own)."""
        fd = os.open(path, os.O_WRONLY)
        read_end, write_end = os.pipe()
        try:
            fcntl.fcntl(write_end, F_SETPIPE_SZ, PIPE_SIZE)
            offset = os.fstat(fd).st_size
            while remaining:
                n = os.splice(self.sock.fileno(), write_end, min(PIPE_SIZE, remaining), flags=os.SPLICE_F_MOVE)
                if n == 0:
                    break
                remaining -= n
                while n:
                    written = os.splice(read_end, fd, n, offset_dst=offset)
                    offset += written
                    n -= written
        finally:
            os.close(read_end)
            os.close(write_end)
            os.close(fd)

    def _send_file(self, path: Path, range_header: str | None) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            start, stop, status = 0, size, 200
            extra: dict[str, str] = {}
            if range_header and range_header.startswith("bytes="):
                first, _, last = range_header[len("bytes=") :].partition("-")
                start, stop, status = int(first), min(size, int(last) + 1) if last else size, 206
                extra["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
            self._answer(status, {**extra, "Content-Length": str(stop - start)}, body_follows=True)
            offset = start
            while offset < stop:
                sent = os.sendfile(self.sock.fileno(), fd, offset, stop - offset)
                if sent == 0:
                    break
                offset += sent
        finally:
            os.close(fd)

    def _answer(self, status: int, headers: dict[str, str], body_follows: bool = False) -> None:
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'OK')}", "Tus-Resumable: 1.0.0"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if not body_follows and status not in (204,):
            lines.append("Content-Length: 0")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    """Method, path and lower-cased headers of a request head (without or with its blank line)."""
    request_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method, path, headers


REASONS = {200: "OK", 201: "Created", 204: "No Content", 206: "Partial Content", 405: "Method Not Allowed"}


class SinkServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], directory: Path, splice: bool = True) -> None:
        super().__init__(address, SinkHandler)
        self.directory = directory
        self.splice = splice
        self._ids = itertools.count(1)
        self._ids_lock = threading.Lock()

    def new_upload(self) -> str:
        with self._ids_lock:
            upload = f"{next(self._ids):032x}"
        (self.directory / upload).touch()
        return upload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--copy", action="store_true", help="recv_into and os.write instead of splice")
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    server = SinkServer((args.host, args.port), args.dir, splice=not args.copy)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"sink listening on {args.host}:{args.port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
