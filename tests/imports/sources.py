"""Real HTTP sources on loopback for import tests: whole, dropping mid-body, without ranges, endless, stalling."""

from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CONTENT = bytes(range(256)) * 4096  # 1 MiB
ETAG = '"' + hashlib.sha256(CONTENT).hexdigest()[:16] + '"'


class SourceHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SourceServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.server.requests.append((path, dict(self.headers.items())))
        count = sum(1 for seen, _ in self.server.requests if seen == path)
        if path == "/file.bin":
            self._ranged(CONTENT)
        elif path == "/drop.bin":
            self._ranged(CONTENT, drop=count == 1)
        elif path == "/norange-drop.bin":
            self._whole(CONTENT, drop=count == 1)
        elif path.startswith("/gated/"):  # /gated/<name>[-norange|-changing]: first request stops a third in
            self._gated(path, count)
        elif path == "/chunked.bin":
            self._chunked(CONTENT)
        elif path == "/endless":
            self._endless()
        elif path == "/stall":
            self._stall()
        elif path == "/redirect":
            target = self.path.split("to=", 1)[1]
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(404)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not found")

    def _ranged(self, content: bytes, drop: bool = False) -> None:
        start = 0
        asked = self.headers.get("Range")
        if asked and self.headers.get("If-Range", ETAG) == ETAG:
            start = int(asked.removeprefix("bytes=").split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(content) - 1}/{len(content)}")
        else:
            self.send_response(200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", ETAG)
        self.send_header("Content-Type", "application/x-test")
        self._send_body(content[start:], drop)

    def _whole(self, content: bytes, drop: bool = False) -> None:
        self.send_response(200)
        self.send_header("ETag", ETAG)
        self._send_body(content, drop)

    def _send_body(self, body: bytes, drop: bool) -> None:
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if drop:
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def _gated(self, path: str, count: int) -> None:
        """The first request sends a third of the body then holds the connection open (the importer waits on
        it until the test stops the server); later ones send what they are asked for."""
        if count > 1 and path.endswith("-changing"):
            self.send_response(200)
            self.send_header("ETag", '"changed"')
            self._send_body(CONTENT[::-1], drop=False)
            return
        ranged = not path.endswith("-norange")
        if count > 1:
            if ranged:
                self._ranged(CONTENT)
            else:
                self._send_plain(CONTENT)
            return
        if ranged:
            self.send_response(200)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("ETag", ETAG)
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(CONTENT)))
        self.end_headers()
        self.wfile.write(CONTENT[: len(CONTENT) // 3])
        self.wfile.flush()
        self.server.stopping.wait(120)
        self.close_connection = True

    def _send_plain(self, content: bytes) -> None:
        self.send_response(200)
        self._send_body(content, drop=False)

    def _chunked(self, content: bytes) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(0, len(content), 65536):
            piece = content[i : i + 65536]
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def _endless(self) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        piece = b"x" * 65536
        try:
            while not self.server.stopping.is_set():
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        except OSError:
            self.server.endless_closed.set()
        self.close_connection = True

    def _stall(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(CONTENT)))
        self.end_headers()
        self.wfile.write(CONTENT[:1000])
        self.wfile.flush()
        self.server.stopping.wait(60)
        self.close_connection = True


class SourceServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SourceHandler)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stopping = threading.Event()
        self.endless_closed = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def requests_to(self, path: str) -> list[dict[str, str]]:
        return [headers for seen, headers in self.requests if seen == path]

    def __enter__(self) -> SourceServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=10)


def wait_closed(event: threading.Event, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if event.wait(0.05):
            return True
    return False
