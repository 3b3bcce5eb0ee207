"""sendfile(2) from a file into a real TCP socket: the bytes asked for; a gone, stalled or stopped reader ends it."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.tus import payload
from tusd_py.storage.sendfile import send_file_to_socket
from tusd_py.storage.splice import SpliceResult, Stop

MIB = 1024 * 1024
Pair = tuple[socket.socket, socket.socket]


@pytest.fixture
def tcp_pair(server_and_client: Pair) -> Pair:
    """The server's end sends; the client reads."""
    return server_and_client


@pytest.fixture
def data_file(tmp_path: Path) -> Iterator[tuple[int, bytes]]:
    data = payload(24 * MIB, seed=5)
    path = tmp_path / "data"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    yield fd, data
    os.close(fd)


def read_all(sock: socket.socket, into: bytearray, limit: int | None = None) -> threading.Thread:
    """Read until EOF, or until `limit` bytes and then close the socket (a reader that goes away)."""

    def run() -> None:
        while limit is None or len(into) < limit:
            chunk = sock.recv(1024 * 1024)
            if not chunk:
                return
            into.extend(chunk)
        sock.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def send(sender: socket.socket, fd: int, offset: int, count: int, **options: object) -> SpliceResult:
    stop = options.pop("stop", None) or Stop()
    try:
        return send_file_to_socket(sender.fileno(), fd, offset, count, stop=stop, **options)  # type: ignore[arg-type]
    finally:
        stop.close()


def test_the_bytes_asked_for_reach_the_reader(tcp_pair: Pair, data_file: tuple[int, bytes]) -> None:
    sender, reader = tcp_pair
    fd, data = data_file
    received = bytearray()
    reading = read_all(reader, received)

    result = send(sender, fd, 3 * MIB + 7, 16 * MIB)
    sender.shutdown(socket.SHUT_WR)
    reading.join(10)

    assert result.moved == 16 * MIB and not result.eof and not result.stopped
    assert bytes(received) == data[3 * MIB + 7 : 19 * MIB + 7]


def test_a_reader_that_closes_ends_the_send_with_eof(tcp_pair: Pair, data_file: tuple[int, bytes]) -> None:
    sender, reader = tcp_pair
    fd, data = data_file
    received = bytearray()
    reading = read_all(reader, received, limit=2 * MIB)

    result = send(sender, fd, 0, len(data))
    reading.join(10)

    assert result.eof
    assert 2 * MIB <= result.moved < len(data)


def test_a_reader_that_stops_reading_is_given_up_after_the_idle_timeout(
    tcp_pair: Pair, data_file: tuple[int, bytes]
) -> None:
    sender, _reader = tcp_pair
    fd, data = data_file
    started = time.monotonic()

    result = send(sender, fd, 0, len(data), idle_timeout=0.5)

    assert result.eof
    assert 0 < result.moved < len(data)  # the socket buffers took some, then nothing moved
    assert 0.5 <= time.monotonic() - started < 5


def test_a_stop_ends_a_send_to_a_stalled_reader(tcp_pair: Pair, data_file: tuple[int, bytes]) -> None:
    sender, _reader = tcp_pair
    fd, data = data_file
    stop = Stop()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()

    result = send(sender, fd, 0, len(data), stop=stop)

    assert result.stopped and not result.eof
    assert time.monotonic() - started < 5  # woken by the stop's eventfd, not by an idle timeout (there is none)


def test_a_file_shorter_than_the_count_is_an_error(tcp_pair: Pair, tmp_path: Path) -> None:
    sender, reader = tcp_pair
    path = tmp_path / "short"
    path.write_bytes(b"x" * 1000)
    fd = os.open(path, os.O_RDONLY)
    received = bytearray()
    reading = read_all(reader, received)
    try:
        with pytest.raises(OSError, match="ended before"):
            send(sender, fd, 0, 5000)
    finally:
        os.close(fd)
        sender.shutdown(socket.SHUT_WR)
        reading.join(10)
    assert bytes(received) == b"x" * 1000
