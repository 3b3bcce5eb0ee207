"""One writer per upload: a waiter asks the holder to let go, waits a bounded time, else 423."""

from __future__ import annotations

import asyncio

import pytest

from tusd_py.locking import MemoryLocker
from tusd_py.locking.base import ReleaseCause
from tusd_py.protocol.errors import TusError


async def test_a_free_upload_is_locked_at_once() -> None:
    locker = MemoryLocker()
    lock = await locker.acquire("a", timeout=1)
    assert locker.is_locked("a")
    await lock.release()
    assert not locker.is_locked("a")


async def test_a_waiter_asks_the_holder_to_let_go_and_then_gets_the_lock() -> None:
    locker = MemoryLocker()
    asked = asyncio.Event()
    holder = await locker.acquire("a", timeout=1, on_release_requested=lambda cause: asked.set())

    waiter = asyncio.create_task(locker.acquire("a", timeout=5))
    await asyncio.wait_for(asked.wait(), 1)
    assert not waiter.done()
    await holder.release()
    second = await asyncio.wait_for(waiter, 1)
    await second.release()


async def test_a_holder_that_does_not_let_go_makes_the_waiter_fail_with_423() -> None:
    locker = MemoryLocker()
    await locker.acquire("a", timeout=1, on_release_requested=lambda cause: None)
    with pytest.raises(TusError) as error:
        await locker.acquire("a", timeout=0.2)
    assert error.value.status == 423
    assert error.value.code == "upload_locked"


async def test_waiting_for_a_lock_does_not_block_the_event_loop() -> None:
    locker = MemoryLocker()
    await locker.acquire("a", timeout=1)
    waiter = asyncio.create_task(locker.acquire("a", timeout=0.5))
    ticks = 0
    while not waiter.done():
        await asyncio.sleep(0.01)
        ticks += 1
    assert ticks >= 20  # the loop kept running other work the whole time the waiter waited
    with pytest.raises(TusError):
        waiter.result()


async def test_locks_on_different_uploads_are_independent() -> None:
    locker = MemoryLocker()
    await locker.acquire("a", timeout=1)
    other = await asyncio.wait_for(locker.acquire("b", timeout=1), 0.5)
    await other.release()


async def test_the_holder_is_asked_only_once_however_many_wait() -> None:
    locker = MemoryLocker()
    asks = []
    holder = await locker.acquire("a", timeout=1, on_release_requested=lambda cause: asks.append(cause))
    waiters = [asyncio.create_task(locker.acquire("a", timeout=0.3)) for _ in range(3)]
    await asyncio.sleep(0)
    await asyncio.gather(*waiters, return_exceptions=True)
    assert asks == [ReleaseCause.REQUESTED]
    await holder.release()
