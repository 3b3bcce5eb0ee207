"""splice(2) from a real TCP socket into a file: every byte kept, and stopping, fencing and dropping end it cleanly."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.support.tus import payload
from tusd_py.protocol.info import UploadInfo
from tusd_py.storage import FileStore
from tusd_py.storage.splice import SpliceResult, Splicers, Stop, splice_socket_to_file
from tusd_py.uploads.socket_body import DetachedBody
from tusd_py.uploads.transfer import Transfer

MIB = 1024 * 1024
Pair = tuple[socket.socket, socket.socket]


@pytest.fixture
def tcp_pair(server_and_client: Pair) -> Pair:
    """The client sends; the server's end receives."""
    server, client = server_and_client
    return client, server


def send_in_thread(sock: socket.socket, data: bytes, then_close: bool = False) -> threading.Thread:
    def run() -> None:
        sock.sendall(data)
        if then_close:
            sock.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def splice_into(path: Path, receiver: socket.socket, count: int, **options: object) -> SpliceResult:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    stop = options.pop("stop", None) or Stop()
    try:
        return splice_socket_to_file(receiver.fileno(), fd, 0, count, stop=stop, **options)  # type: ignore[arg-type]
    finally:
        os.close(fd)
        stop.close()


def test_every_byte_of_the_body_reaches_the_file_and_totals_are_reported(tmp_path: Path, tcp_pair: Pair) -> None:
    sender, receiver = tcp_pair
    data = payload(9 * MIB + 123, seed=1)
    sending = send_in_thread(sender, data + b"NEXT REQUEST")
    reports: list[int] = []

    result = splice_into(tmp_path / "f", receiver, len(data), report=reports.append, check_every=MIB)
    sending.join()

    assert result == SpliceResult(moved=len(data))
    assert (tmp_path / "f").read_bytes() == data
    assert reports == sorted(reports) and reports[-1] == len(data)
    gaps = [b - a for a, b in zip([0, *reports], reports, strict=False)]
    assert max(gaps) <= 2 * MIB  # after every check_every, at most one pipe's worth later
    assert receiver.recv(100) == b"NEXT REQUEST"  # nothing past the body was taken


def test_a_fast_piece_is_reported_once_and_a_stalled_remainder_within_the_hold_time(
    tmp_path: Path, tcp_pair: Pair
) -> None:
    sender, receiver = tcp_pair
    data = payload(3 * MIB + 1000, seed=8)
    reports: list[tuple[int, float]] = []

    def send_pieces() -> None:
        for start in (0, MIB, 2 * MIB):
            sender.sendall(data[start : start + MIB])
            time.sleep(0.15)
        sent_at.append(time.monotonic())
        sender.sendall(data[3 * MIB :])
        time.sleep(0.3)  # the last 1,000 bytes of the body never come: a stalled sender
        sender.shutdown(socket.SHUT_WR)

    sent_at: list[float] = []
    sending = threading.Thread(target=send_pieces)
    sending.start()
    result = splice_into(
        tmp_path / "f",
        receiver,
        len(data) + 1000,
        report=lambda total: reports.append((total, time.monotonic())),
        check_every=MIB,
    )
    sending.join()

    assert result.eof and result.moved == len(data)
    totals = [total for total, _ in reports]
    assert totals == [MIB, 2 * MIB, 3 * MIB, len(data)]  # one report per piece: none between pieces
    assert reports[-1][1] - sent_at[0] < 0.2  # reported after the hold time, not at the end of the body


def test_reports_fall_where_the_body_passes_a_block_boundary_not_the_socket(tmp_path: Path, tcp_pair: Pair) -> None:
    sender, receiver = tcp_pair
    already = 5000  # bytes of the body the server read with its head and stored before the splice
    data = payload(2 * MIB - already, seed=9)
    reports: list[int] = []

    def send_pieces() -> None:
        sender.sendall(data[: MIB - already])  # up to the body's first 1 MiB boundary
        time.sleep(0.15)
        sender.sendall(data[MIB - already :])

    sending = threading.Thread(target=send_pieces)
    sending.start()
    result = splice_into(
        tmp_path / "f", receiver, len(data), report=reports.append, check_every=MIB, body_offset=already
    )
    sending.join()

    assert result.moved == len(data)
    assert reports == [MIB - already, len(data)]


def test_a_peer_that_closes_mid_body_ends_it_with_what_it_sent_stored(tmp_path: Path, tcp_pair: Pair) -> None:
    sender, receiver = tcp_pair
    data = payload(3 * MIB, seed=2)
    send_in_thread(sender, data, then_close=True).join()

    result = splice_into(tmp_path / "f", receiver, 8 * MIB)

    assert result.eof and result.moved == len(data)
    assert (tmp_path / "f").read_bytes() == data


def test_stop_ends_a_stalled_body_keeping_what_arrived(tmp_path: Path, tcp_pair: Pair) -> None:
    sender, receiver = tcp_pair
    data = payload(2 * MIB, seed=3)
    send_in_thread(sender, data).join()
    stop = Stop()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()

    result = splice_into(tmp_path / "f", receiver, 8 * MIB, stop=stop)

    assert result.stopped and not result.eof and result.moved == len(data)
    assert 0.25 < time.monotonic() - started < 5
    assert (tmp_path / "f").read_bytes() == data


def test_once_the_lock_is_no_longer_ours_nothing_more_is_taken(tmp_path: Path, tcp_pair: Pair) -> None:
    sender, receiver = tcp_pair
    data = payload(4 * MIB, seed=4)
    sending = send_in_thread(sender, data)
    answers = iter([True, True])

    result = splice_into(tmp_path / "f", receiver, len(data), still_ours=lambda: next(answers, False), check_every=MIB)

    assert result.fenced
    # Asked before the first byte, again once 1 MiB was moved (at m < 2 MiB: one move takes up to a pipe's
    # 1 MiB), and refused once 1 MiB more was moved: somewhere in [2 MiB, m + 2 MiB).
    assert 2 * MIB <= result.moved < 4 * MIB
    assert (tmp_path / "f").read_bytes() == data[: result.moved]
    sender.close()
    sending.join()


def test_splicers_refuse_work_when_every_thread_is_taken() -> None:
    splicers = Splicers(size=1)
    release = threading.Event()
    first = splicers.try_submit(lambda: (release.wait(5), SpliceResult(moved=7))[1])
    assert first is not None
    assert splicers.try_submit(lambda: SpliceResult()) is None
    release.set()
    assert first.result(5).moved == 7
    for _ in range(100):
        if splicers.running == 0:
            break
        time.sleep(0.01)
    assert splicers.running == 0 and splicers.bytes_moved == 7
    assert splicers.try_submit(lambda: SpliceResult(moved=1)) is not None


class FakeSocketBody:
    """What `tusd-py serve` offers, over a real socket: the part already read, then the socket itself."""

    def __init__(self, sock: socket.socket, length: int, received: list[bytes]) -> None:
        self.sock = sock
        self.length = length
        self.received = received
        self.reattached: list[int] = []

    def detach(self) -> DetachedBody:
        already = sum(map(len, self.received))
        return DetachedBody(self.sock.fileno(), self.length - already, self.received)

    def reattach(self, taken: int) -> None:
        self.reattached.append(taken)


async def test_a_transfer_stores_what_was_read_before_the_socket_then_the_socket(
    tmp_path: Path, tcp_pair: Pair
) -> None:
    sender, receiver = tcp_pair
    data = payload(6 * MIB, seed=5)
    store = FileStore(tmp_path / "uploads")
    info = UploadInfo(id="u1", size=len(data))
    await store.create(info)
    body = FakeSocketBody(receiver, len(data), [data[:1000], data[1000:70000]])
    sending = send_in_thread(sender, data[70000:])

    async def no_messages() -> dict[str, object]:
        raise AssertionError("the body should not come through receive()")

    transfer = Transfer(no_messages, idle_timeout=5, socket_body=body)  # type: ignore[arg-type]
    appender = store.open_appender(info)
    await transfer.run(appender, len(data))
    kept = await appender.close()
    sending.join()

    assert transfer.ended_cleanly and transfer.received == len(data) and kept == len(data)
    assert body.reattached == [len(data) - 70000]
    assert (tmp_path / "uploads" / "u1").read_bytes() == data


async def test_a_stopped_transfer_gives_the_socket_back_with_the_count_it_took(tmp_path: Path, tcp_pair: Pair) -> None:
    sender, receiver = tcp_pair
    data = payload(2 * MIB, seed=6)
    store = FileStore(tmp_path / "uploads")
    info = UploadInfo(id="u1", size=8 * MIB)
    await store.create(info)
    body = FakeSocketBody(receiver, 8 * MIB, [])
    send_in_thread(sender, data).join()
    transfer = Transfer(None, idle_timeout=0.5, socket_body=body)  # type: ignore[arg-type]
    appender = store.open_appender(info)

    await transfer.run(appender, 8 * MIB)
    kept = await appender.close()

    assert transfer.stop_reason is not None and transfer.stop_reason.value == "timeout"
    assert kept == len(data) and transfer.received == len(data)
    assert body.reattached == [len(data)]
    assert (tmp_path / "uploads" / "u1").read_bytes() == data


async def test_without_a_free_splice_thread_the_body_comes_through_receive(
    tmp_path: Path, tcp_pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tusd_py.storage.appender as appender_module

    monkeypatch.setattr(appender_module, "SPLICERS", Splicers(size=0))
    _, receiver = tcp_pair
    data = payload(3 * MIB, seed=7)
    store = FileStore(tmp_path / "uploads")
    info = UploadInfo(id="u1", size=len(data))
    await store.create(info)
    body = FakeSocketBody(receiver, len(data), [data[:5000]])
    rest = [data[5000 : 2 * MIB], data[2 * MIB :]]

    async def receive() -> dict[str, object]:
        await asyncio.sleep(0)
        chunk = rest.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(rest)}

    transfer = Transfer(receive, idle_timeout=5, socket_body=body)
    appender = store.open_appender(info)
    await transfer.run(appender, len(data))
    kept = await appender.close()

    assert transfer.ended_cleanly and kept == len(data)
    assert body.reattached == [0]
    assert (tmp_path / "uploads" / "u1").read_bytes() == data
