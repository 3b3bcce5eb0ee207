"""Shared state in Redis for several instances, and the pub/sub loop every Redis-backed part uses."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, RedisError

from tusd_py.events.batches import BatchFile, BatchState

log = logging.getLogger("tusd_py.state")
STATE_TTL_SECONDS = 7 * 86400  # every key expires: nothing grows without bound


def connect(url: str) -> Redis:
    """Short timeouts: a request that needs Redis fails fast (503) instead of hanging when Redis is gone."""
    # One retry on a dropped connection: after Redis restarts, each pooled connection fails once before it
    # reconnects, and that first failure must not reach a client.
    return Redis.from_url(
        url,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=10,
        retry=Retry(NoBackoff(), 1),
        retry_on_error=[ConnectionError],
    )


async def subscribe_forever(
    redis: Redis,
    channel: str,
    handle: Callable[[bytes], None],
    resubscribed: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Call `handle(data)` for each message on `channel`, resubscribing by itself after any Redis failure.

    Messages published while the subscription was lost are lost to it: `resubscribed()`, awaited each time the
    subscription is back, may fetch what was missed from somewhere lasting."""
    delay = 0.1
    lost = False
    while True:
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(channel)
            delay = 0.1
            # redis-py reconnects (and resubscribes) a broken pub/sub connection by itself, once, without a word
            # (the client's retry): that is a lost subscription too.
            reconnects = _Reconnects()
            if pubsub.connection is not None:
                pubsub.connection.register_connect_callback(reconnects.noticed)
            while True:
                if resubscribed is not None and (lost or reconnects.happened):
                    reconnects.happened = False
                    await resubscribed()
                lost = False
                message = await pubsub.get_message(timeout=1.0)
                if message is not None and message.get("type") == "message":
                    try:
                        handle(message["data"])
                    except Exception:
                        log.exception("handling a message on %s failed", channel)
        except (RedisError, OSError) as error:
            lost = True
            log.warning("lost the subscription to %s (%s); retrying in %.1fs", channel, error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]


class _Reconnects:
    """Told by redis-py each time a pub/sub connection connects again (it keeps the method as a weak reference)."""

    def __init__(self) -> None:
        self.happened = False

    def noticed(self, connection: object) -> None:
        self.happened = True


class RedisConcatIndex:
    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    def _key(self, partial_id: str) -> str:
        return f"{self.prefix}finals-waiting:{partial_id}"

    async def watch(self, final_id: str, partial_ids: list[str]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for partial_id in set(partial_ids):
                pipe.sadd(self._key(partial_id), final_id)
                pipe.expire(self._key(partial_id), STATE_TTL_SECONDS)
            await pipe.execute()

    async def finals_waiting_on(self, partial_id: str) -> set[str]:
        members = await self.redis.smembers(self._key(partial_id))
        return {m.decode() if isinstance(m, bytes) else str(m) for m in members}

    async def unwatch(self, final_id: str, partial_ids: list[str]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for partial_id in set(partial_ids):
                pipe.srem(self._key(partial_id), final_id)
            await pipe.execute()


class RedisBatchBook:
    """A hash per batch (upload id -> file figures), the declared total, and a completion marker."""

    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    def _keys(self, key: str) -> tuple[str, str, str]:
        base = f"{self.prefix}{key}"
        return f"{base}:files", f"{base}:total", f"{base}:announced"

    async def record(
        self, key: str, name: str, upload_id: str, file: BatchFile, declared_total: int | None
    ) -> BatchState:
        files, total, announced = self._keys(key)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(files, upload_id, json.dumps([file.offset, file.length, file.state]))
            if declared_total is not None:
                pipe.set(total, declared_total)
            for state_key in (files, total):
                pipe.expire(state_key, STATE_TTL_SECONDS)
            added, *_ = await pipe.execute()
        if added:
            await self.redis.delete(announced)  # a new file reopens a batch announced complete
        state = await self.state(key, name)
        assert state is not None
        return state

    async def state(self, key: str, name: str) -> BatchState | None:
        files, total, announced = self._keys(key)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(files)
            pipe.get(total)
            pipe.exists(announced)
            rows, declared, was_announced = await pipe.execute()
        if not rows:
            return None
        state = BatchState(name, declared_total=int(declared) if declared else None)
        for upload_id, value in rows.items():
            offset, length, file_state = json.loads(value)
            state.files[upload_id.decode()] = BatchFile(offset, length, file_state)
        state.completion_announced = bool(was_announced)
        return state

    async def replace(self, key: str, state: BatchState) -> None:
        files, total, _ = self._keys(key)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(files)
            for upload_id, file in state.files.items():
                pipe.hset(files, upload_id, json.dumps([file.offset, file.length, file.state]))
            if state.declared_total is not None:
                pipe.set(total, state.declared_total, ex=STATE_TTL_SECONDS)
            pipe.expire(files, STATE_TTL_SECONDS)
            await pipe.execute()

    async def claim_completion(self, key: str, name: str) -> bool:
        state = await self.state(key, name)
        if state is None or not state.complete:
            return False
        _, _, announced = self._keys(key)
        return bool(await self.redis.set(announced, len(state.files), nx=True, ex=STATE_TTL_SECONDS))
