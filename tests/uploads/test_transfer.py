"""A Transfer ends with its body, or when stopped; a stop after the body ended changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

from tusd_py.uploads.transfer import StopReason, Transfer


class Collector:
    def __init__(self) -> None:
        self.data = bytearray()

    async def write(self, data: bytes) -> None:
        self.data += data


def body(*chunks: bytes) -> Any:
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else await asyncio.Event().wait()  # type: ignore[func-returns-value]

    return receive


async def test_a_whole_body_ends_cleanly() -> None:
    transfer, sink = Transfer(body(b"ab", b"cd"), idle_timeout=None), Collector()
    await transfer.run(sink, None)  # type: ignore[arg-type]
    assert transfer.ended_cleanly and bytes(sink.data) == b"abcd"


async def test_a_stop_after_the_body_ended_is_not_an_interruption() -> None:
    transfer, sink = Transfer(body(b"abcd"), idle_timeout=None), Collector()
    await transfer.run(sink, None)  # type: ignore[arg-type]
    transfer.stop(StopReason.INTERRUPTED)
    assert transfer.stop_reason is None and transfer.ended_cleanly


async def test_a_stop_mid_body_keeps_what_arrived() -> None:
    transfer, sink = Transfer(body(b"ab", b"cd", b"ef"), idle_timeout=None), Collector()
    transfer._receive = _stalling(transfer._receive, after=2)
    task = asyncio.create_task(transfer.run(sink, None))  # type: ignore[arg-type]
    while len(sink.data) < 4:
        await asyncio.sleep(0)
    transfer.stop(StopReason.INTERRUPTED)
    await task
    assert transfer.stop_reason is StopReason.INTERRUPTED
    assert bytes(sink.data) == b"abcd" and transfer.received == 4


async def test_an_idle_body_is_stopped_by_the_timeout() -> None:
    transfer, sink = Transfer(_stalling(body(b"ab", b"cd"), after=1), idle_timeout=0.05), Collector()
    await asyncio.wait_for(transfer.run(sink, None), 2)  # type: ignore[arg-type]
    assert transfer.stop_reason is StopReason.TIMEOUT and bytes(sink.data) == b"ab"


async def test_bytes_past_the_limit_are_not_taken() -> None:
    transfer, sink = Transfer(body(b"abc", b"def"), idle_timeout=None), Collector()
    await transfer.run(sink, 4)  # type: ignore[arg-type]
    assert transfer.overflow and bytes(sink.data) == b"abcd"


def _stalling(receive: Any, after: int) -> Any:
    calls = 0

    async def stalling() -> Any:
        nonlocal calls
        calls += 1
        if calls > after:
            await asyncio.Event().wait()
        return await receive()

    return stalling
