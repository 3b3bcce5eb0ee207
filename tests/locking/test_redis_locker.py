"""Locks shared through a real Redis: an owner token, a TTL renewed while held, release by the owner only,
and "let go" carried from a waiter on any instance to the holder; 423 after the timeout, 503 without Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.support.redis_server import RedisServer
from tusd_py.locking import redis as redis_locking
from tusd_py.locking.base import ReleaseCause
from tusd_py.locking.redis import RedisLocker
from tusd_py.protocol.errors import TusError
from tusd_py.state.redis import connect

TTL = 0.6  # seconds: short, so expiry and renewal happen within a test
PREFIX = "test:"
# Far above what any step here needs; only there to turn a hang into a failure.
WAIT = 5.0


class Causes:
    """A holder's `on_release_requested`: records why it was asked to let go."""

    def __init__(self) -> None:
        self.seen: list[ReleaseCause] = []
        self._changed = asyncio.Event()

    def __call__(self, cause: ReleaseCause) -> None:
        self.seen.append(cause)
        self._changed.set()

    async def first(self, cause: ReleaseCause, timeout: float = WAIT) -> None:
        try:
            async with asyncio.timeout(timeout):
                while cause not in self.seen:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            told = [seen.value for seen in self.seen]
            raise AssertionError(f"not told {cause.value!r} within {timeout}s (told: {told})") from None


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[Redis]:
    """A plain client of the same Redis, to look at keys as an operator would."""
    client = connect(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture
async def instances(redis_server: RedisServer, raw: Redis) -> AsyncIterator[list[RedisLocker]]:
    """Two lockers as two server instances have them: each its own Redis connection and release listener."""
    lockers = [RedisLocker(connect(redis_server.url), prefix=PREFIX, ttl=TTL) for _ in range(2)]
    listeners = [asyncio.create_task(locker.listen()) for locker in lockers]
    channel = lockers[0].channel
    async with asyncio.timeout(WAIT):
        while (await raw.pubsub_numsub(channel))[0][1] < len(lockers):
            await asyncio.sleep(0.01)
    yield lockers
    # Listeners, and whatever a failed test left running (renewals, waiters), end before the connections close.
    leftovers = {*listeners, *asyncio.all_tasks()} - {asyncio.current_task()}
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)
    for locker in lockers:
        await locker.redis.aclose()


async def test_a_lock_is_a_key_holding_its_owners_token_with_the_ttl(instances: list[RedisLocker], raw: Redis) -> None:
    locker = instances[0]
    lock = await locker.acquire("u1", timeout=1)
    assert await raw.get(locker.key("u1")) == lock.token.encode()
    assert 0 < await raw.pttl(locker.key("u1")) <= TTL * 1000
    await lock.release()


async def test_a_released_lock_is_gone_and_another_instance_takes_it_at_once(
    instances: list[RedisLocker], raw: Redis
) -> None:
    first, second = instances
    lock = await first.acquire("u1", timeout=1)
    await lock.release()
    assert not await raw.exists(first.key("u1"))
    other = await second.acquire("u1", timeout=0)
    await other.release()


async def test_a_lock_held_longer_than_its_ttl_stays_held(instances: list[RedisLocker], raw: Redis) -> None:
    holder, waiter = instances
    lock = await holder.acquire("u1", timeout=1)
    with pytest.raises(TusError) as error:
        # Waiting twice the TTL without asking the holder to let go: only renewal keeps the key alive that long.
        await waiter.acquire("u1", timeout=2 * TTL, interrupt=False)
    assert error.value.status == 423
    assert await raw.get(holder.key("u1")) == lock.token.encode()
    await lock.release()


async def test_the_lock_of_a_holder_that_died_expires_after_its_ttl(instances: list[RedisLocker], raw: Redis) -> None:
    locker = instances[0]
    # What a dead instance leaves behind: its token, never to be renewed.
    await raw.set(locker.key("u1"), "token-of-a-dead-instance", px=int(TTL * 1000))
    with pytest.raises(TusError):
        await locker.acquire("u1", timeout=0)
    lock = await locker.acquire("u1", timeout=3 * TTL)
    assert await raw.get(locker.key("u1")) == lock.token.encode()
    await lock.release()


async def test_a_holder_whose_key_was_taken_over_cannot_delete_the_new_owners_key(
    instances: list[RedisLocker], raw: Redis
) -> None:
    locker = instances[0]
    lock = await locker.acquire("u1", timeout=1)
    # As if the key had expired and another instance had taken it.
    await raw.set(locker.key("u1"), "token-of-the-new-owner", px=int(10 * TTL * 1000))
    await lock.release()
    assert await raw.get(locker.key("u1")) == b"token-of-the-new-owner"


async def test_a_holder_whose_key_was_taken_over_is_told_it_lost_the_lock(
    instances: list[RedisLocker], raw: Redis
) -> None:
    locker = instances[0]
    causes = Causes()
    lock = await locker.acquire("u1", timeout=1, on_release_requested=causes)
    await raw.set(locker.key("u1"), "token-of-the-new-owner", px=int(10 * TTL * 1000))
    await causes.first(ReleaseCause.LOST)
    assert await raw.get(locker.key("u1")) == b"token-of-the-new-owner"
    await lock.release()


@pytest.mark.parametrize("waiter_index", [0, 1], ids=["same-instance", "another-instance"])
async def test_a_waiter_asks_the_holder_to_let_go_and_then_gets_the_lock(
    instances: list[RedisLocker], waiter_index: int
) -> None:
    holder_locker, waiter_locker = instances[0], instances[waiter_index]
    causes = Causes()
    lock = await holder_locker.acquire("u1", timeout=1, on_release_requested=causes)
    waiter = asyncio.create_task(waiter_locker.acquire("u1", timeout=WAIT))
    await causes.first(ReleaseCause.REQUESTED)
    assert not waiter.done()
    await lock.release()  # what a holder's PATCH does once asked: it ends, keeping what it stored
    second = await asyncio.wait_for(waiter, WAIT)
    assert causes.seen == [ReleaseCause.REQUESTED]
    await second.release()


async def test_a_waiter_asks_a_new_holder_to_let_go_too(
    instances: list[RedisLocker], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As within one process: whoever holds the lock when the waiter finds it taken is asked, not only the first."""
    monkeypatch.setattr(redis_locking, "POLL_SECONDS", 0.5)  # the holder changes between two polls of the waiter
    holders, waiting = instances
    first_causes, second_causes = Causes(), Causes()
    first = await holders.acquire("u1", timeout=1, on_release_requested=first_causes)
    waiter = asyncio.create_task(waiting.acquire("u1", timeout=WAIT))
    await first_causes.first(ReleaseCause.REQUESTED)
    await first.release()
    # Another request got in first (a HEAD that ended, then this client's PATCH): it is the holder now.
    second = await holders.acquire("u1", timeout=0, on_release_requested=second_causes)

    try:
        await second_causes.first(ReleaseCause.REQUESTED, timeout=2)
    finally:
        await second.release()
        await (await asyncio.wait_for(waiter, WAIT)).release()


async def test_a_holder_that_does_not_let_go_makes_a_waiter_on_another_instance_fail_with_423(
    instances: list[RedisLocker],
) -> None:
    holder, waiter = instances
    causes = Causes()
    lock = await holder.acquire("u1", timeout=1, on_release_requested=causes)
    with pytest.raises(TusError) as error:
        await waiter.acquire("u1", timeout=0.3)
    assert error.value.status == 423
    assert error.value.code == "upload_locked"
    assert causes.seen == [ReleaseCause.REQUESTED]  # it was asked, and ignored it
    await lock.release()


async def test_a_waiter_that_must_not_interrupt_does_not_ask_the_holder(instances: list[RedisLocker]) -> None:
    holder, waiter = instances
    causes = Causes()
    lock = await holder.acquire("u1", timeout=1, on_release_requested=causes)
    with pytest.raises(TusError):
        await waiter.acquire("u1", timeout=0.3, interrupt=False)
    assert causes.seen == []
    await lock.release()


async def test_taking_a_lock_while_redis_is_down_fails_with_503_lock_unavailable(
    instances: list[RedisLocker], redis_server: RedisServer
) -> None:
    redis_server.stop()
    with pytest.raises(TusError) as error:
        await instances[0].acquire("u1", timeout=1)
    assert error.value.status == 503
    assert error.value.code == "lock_unavailable"
    assert error.value.headers["Retry-After"]


async def test_a_holder_that_cannot_renew_is_told_it_lost_the_lock_before_its_key_expires(
    instances: list[RedisLocker], raw: Redis, redis_server: RedisServer
) -> None:
    locker = instances[0]
    causes = Causes()
    await locker.acquire("u1", timeout=1, on_release_requested=causes)
    loop = asyncio.get_running_loop()
    key_expires_at = loop.time() + await raw.pttl(locker.key("u1")) / 1000
    redis_server.stop()
    await causes.first(ReleaseCause.LOST)
    # Past this moment another instance could take the key: the writer must have been told before.
    assert loop.time() < key_expires_at


# -- the lease a writer checks before each block ------------------------------------------------------------


async def test_a_lock_is_held_while_renewals_extend_its_lease_past_the_ttl(instances: list[RedisLocker]) -> None:
    lock = await instances[0].acquire("u1", timeout=1)
    await asyncio.sleep(2 * TTL)

    assert lock.is_held()
    await lock.release()


async def test_a_holder_frozen_past_its_lease_knows_it_before_any_renewal_runs(instances: list[RedisLocker]) -> None:
    lock = await instances[0].acquire("u1", timeout=1)
    assert lock.is_held()

    time.sleep(TTL)  # the whole process stands still, as in a long GC pause or a stopped VM: no renewal can run

    assert not lock.is_held()
    await lock.release()


async def test_a_released_lock_is_not_held(instances: list[RedisLocker]) -> None:
    lock = await instances[0].acquire("u1", timeout=1)

    await lock.release()

    assert not lock.is_held()
