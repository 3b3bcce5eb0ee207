"""Event subscribers for the latency figure: many WebSockets on one upload's event stream, each arrival timed.

    python -m benchmarks.subscribers --url ws://127.0.0.1:PORT/files/ID/events --count N

Prints `ready` once every socket has received its first event (the stream opens with the upload's latest
event), then follows the streams until the server closes them after `completed`, and prints one JSON line:
{"arrivals": [[[monotonic_ns, offset], …] for each subscriber], "errors": [...]}.

The client must never be the slow part, so this is RFC 6455 on raw non-blocking sockets with one epoll loop
per process: each read is timed as it returns, and each of its frames parsed in place. (A `websockets`
asyncio client per socket spent three times the server's CPU on the same messages, on the same two cores.)
Several of these processes share the subscribers.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import select
import socket
import struct
import sys
import time
from urllib.parse import urlsplit

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def handshake(host: str, port: int, path: str, timeout: float = 60.0) -> tuple[socket.socket, bytes]:
    """A WebSocket opened on a blocking socket: the socket and whatever arrived after the 101's head."""
    sock = socket.create_connection((host, port), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        head += chunk
    status_line = head.split(b"\r\n", 1)[0]
    if b" 101 " not in status_line:
        raise ConnectionError(f"handshake answered {status_line!r}")
    return sock, head.partition(b"\r\n\r\n")[2]


class Subscriber:
    """One WebSocket: the handshake, then frames parsed from whatever each read brought."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.sock, self.pending = handshake(host, port, path)
        self.sock.setblocking(False)
        self.arrivals: list[tuple[int, int]] = []
        self.greeted = False  # the first event (the upload's latest) arrived
        self.closed = False

    def readable(self) -> None:
        try:
            data = self.sock.recv(16384)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        arrived = time.monotonic_ns()
        if not data:
            self.closed = True
            return
        self.pending += data
        self._parse(arrived)

    def _parse(self, arrived: int) -> None:
        data = self.pending
        position = 0
        while len(data) - position >= 2:
            first, second = data[position], data[position + 1]
            length, start = second & 0x7F, position + 2
            if length == 126:
                if len(data) - start < 2:
                    break
                (length,) = struct.unpack_from("!H", data, start)
                start += 2
            elif length == 127:
                if len(data) - start < 8:
                    break
                (length,) = struct.unpack_from("!Q", data, start)
                start += 8
            if len(data) - start < length:
                break
            self._frame(first & 0x0F, data[start : start + length], arrived)
            position = start + length
        self.pending = data[position:]

    def _frame(self, opcode: int, payload: bytes, arrived: int) -> None:
        if opcode == TEXT:
            if not self.greeted:
                self.greeted = True
                return
            event = json.loads(payload)
            if event.get("type") == "progress":
                self.arrivals.append((arrived, int(event["offset"])))
        elif opcode == PING:
            self._send(PONG, payload)
        elif opcode == CLOSE:
            self._send(CLOSE, payload[:2])
            self.closed = True

    def _send(self, opcode: int, payload: bytes) -> None:
        """A client frame: always masked (RFC 6455 5.3); only short control frames are sent."""
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        try:
            self.sock.setblocking(True)
            self.sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)
            self.sock.setblocking(False)
        except OSError:
            self.closed = True


def run(url: str, count: int, timeout: float) -> dict[str, object]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    subscribers = [Subscriber(parts.hostname, parts.port, parts.path) for _ in range(count)]
    poller = select.epoll()
    by_fd: dict[int, Subscriber] = {}
    for subscriber in subscribers:
        by_fd[subscriber.sock.fileno()] = subscriber
        poller.register(subscriber.sock.fileno(), select.EPOLLIN)
        if subscriber.pending:
            subscriber._parse(time.monotonic_ns())
    errors: list[str] = []
    deadline = time.monotonic() + timeout
    ready = False
    open_count = count
    while open_count and time.monotonic() < deadline:
        for fd, _ in poller.poll(1.0):
            subscriber = by_fd[fd]
            subscriber.readable()
            if subscriber.closed:
                poller.unregister(fd)
                subscriber.sock.close()
                open_count -= 1
        if not ready and all(s.greeted or s.closed for s in subscribers):
            ready = True
            print("ready", flush=True)
    if open_count:
        errors.append(f"streams still open after {timeout}s")
    if not ready:
        errors.append("not every subscriber got its first event")
    for subscriber in subscribers:
        if not subscriber.closed:
            subscriber.sock.close()
    return {"arrivals": [s.arrivals for s in subscribers], "errors": errors}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    result = run(args.url, args.count, args.timeout)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
