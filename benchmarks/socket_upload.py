"""A lean client for tusd_py's upload socket (`B upload`, docs/websocket-upload.md) on a raw socket.

Binary frames go out with os.sendfile from the data file: their masking key is 0 (RFC 6455 asks a client to
mask, and allows any key; the server unmasks as for any other), so the payload needs no copy in the client.
A thread reads the server's messages and moves the acknowledged offset; the sender keeps `sent - acknowledged`
within the server's window, as a well-behaved client must."""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
from typing import Any
from urllib.parse import urlsplit

from benchmarks.clients import BenchError, Body
from benchmarks.subscribers import handshake

ZERO_MASK = b"\0\0\0\0"


def _frame_head(opcode: int, length: int) -> bytes:
    if length < 126:
        return bytes([0x80 | opcode, 0x80 | length]) + ZERO_MASK
    if length < 2**16:
        return bytes([0x80 | opcode, 0x80 | 126]) + struct.pack("!H", length) + ZERO_MASK
    return bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", length) + ZERO_MASK


class SocketUpload:
    """One upload of `body` over the upload socket at `endpoint` + "upload"; `run()` returns when it completed."""

    def __init__(self, endpoint: str, body: Body, timeout: float = 120.0) -> None:
        parts = urlsplit(endpoint)
        assert parts.hostname is not None and parts.port is not None
        self.body = body
        try:
            self.sock, self._pending = handshake(parts.hostname, parts.port, f"{parts.path}upload", timeout)
        except ConnectionError as error:
            raise BenchError(f"the upload socket: {error}") from None
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._acknowledged = 0
        self._done = False
        self._failure: str | None = None
        self._moved = threading.Condition()

    def close(self) -> None:
        self.sock.close()

    def _read_message(self) -> dict[str, Any] | None:
        """The next text message from the server; None once it closed the socket."""
        while True:
            frame = self._next_frame()
            if frame is None:
                return None
            opcode, payload = frame
            if opcode == 0x1:
                message: dict[str, Any] = json.loads(payload)
                return message
            if opcode == 0x8:
                return None

    def _next_frame(self) -> tuple[int, bytes] | None:
        while True:
            data = self._pending
            if len(data) >= 2:
                length, start = data[1] & 0x7F, 2
                if length == 126 and len(data) >= 4:
                    (length,), start = struct.unpack_from("!H", data, 2), 4
                elif length == 127 and len(data) >= 10:
                    (length,), start = struct.unpack_from("!Q", data, 2), 10
                if (length < 126 or start > 2) and len(data) >= start + length:
                    self._pending = data[start + length :]
                    return data[0] & 0x0F, data[start : start + length]
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self._pending += chunk

    def _send_text(self, message: dict[str, Any]) -> None:
        payload = json.dumps(message).encode()
        self.sock.sendall(_frame_head(0x1, len(payload)) + payload)  # a zero key leaves the payload as it is

    def _listen(self) -> None:
        try:
            while True:
                message = self._read_message()
                with self._moved:
                    if message is None:
                        self._failure = self._failure or (None if self._done else "the server closed the socket")
                        self._done = True
                    elif message["type"] == "progress":
                        self._acknowledged = max(self._acknowledged, int(message["offset"]))
                    elif message["type"] == "error":
                        self._failure = f"{message.get('error_code')}: {message.get('error_message')}"
                        self._done = True
                    elif message["type"] == "success" or message.get("status") == "completed":
                        self._acknowledged = self.body.count
                        self._done = True
                    self._moved.notify_all()
                if self._done:
                    return
        except OSError as error:
            with self._moved:
                self._failure, self._done = f"reading the socket failed: {error}", True
                self._moved.notify_all()

    def run(self) -> None:
        greeting = self._read_message()
        if greeting is None or greeting.get("status") != "connected":
            raise BenchError(f"the upload socket greeted with {greeting!r}")
        window, frame = int(greeting["window"]), int(greeting["max_frame_size"])
        self._send_text({"type": "create", "size": self.body.count, "filename": "bench.bin"})
        created = self._read_message()
        if created is None or created.get("status") != "created":
            raise BenchError(f"create answered {created!r}")
        listener = threading.Thread(target=self._listen, daemon=True)
        listener.start()
        out, sent = self.sock.fileno(), 0
        while sent < self.body.count:
            count = min(frame, self.body.count - sent)
            with self._moved:
                while not self._done and sent + count - self._acknowledged > window:
                    self._moved.wait()
                if self._done:
                    break
            self.sock.sendall(_frame_head(0x2, count))
            offset, remaining = self.body.offset + sent, count
            while remaining:
                moved = os.sendfile(out, self.body.fd, offset, remaining)
                if moved == 0:
                    raise BenchError("the data file ended early")
                offset, remaining = offset + moved, remaining - moved
            sent += count
        with self._moved:
            while not self._done:
                self._moved.wait()
        listener.join(10)
        if self._failure is not None:
            raise BenchError(f"the socket upload failed after {sent} bytes sent: {self._failure}")
