"""Per-upload locks shared by every instance through Redis: an owner token, a TTL renewed while held,
release only by the holder, and release requests carried to the holding instance over pub/sub."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from tusd_py.locking.base import ReleaseCause, ReleaseRequest, lock_unavailable, upload_locked
from tusd_py.state.redis import subscribe_forever

log = logging.getLogger("tusd_py.locking")

# Renew only while we still own the key; delete only what we own.
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
POLL_SECONDS = 0.025
# The share of the TTL this process trusts its lease for: room for clocks that run at slightly different rates.
LEASE_SAFETY = 0.9


class RedisLock:
    def __init__(
        self,
        locker: RedisLocker,
        upload_id: str,
        token: str,
        on_release_requested: ReleaseRequest | None,
        lease_from: float,
    ):
        self.locker = locker
        self.upload_id = upload_id
        self.token = token
        self.on_release_requested = on_release_requested
        self.asked = False
        self.lost = False
        self._renewal: asyncio.Task[None] | None = None
        self._released = False
        self._extend_lease(lease_from)

    def _extend_lease(self, sent_at: float) -> None:
        """Redis counts the TTL from when it ran the command, which is after `sent_at`: ours ends no later."""
        self.lease_ends = sent_at + self.locker.ttl * LEASE_SAFETY

    def is_held(self) -> bool:
        return not (self._released or self.lost) and time.monotonic() < self.lease_ends

    def start_renewal(self) -> None:
        self._renewal = asyncio.create_task(self._renew_forever())

    def tell(self, cause: ReleaseCause) -> None:
        if cause is ReleaseCause.LOST:
            self.lost = True
        elif self.asked:
            return
        self.asked = True
        if self.on_release_requested is not None:
            self.on_release_requested(cause)

    async def _renew_forever(self) -> None:
        """Renew at a third of the TTL; once renewal has failed for half the TTL the lock may be gone: let go."""
        loop = asyncio.get_running_loop()
        ttl = self.locker.ttl
        last_renewed = loop.time()
        while True:
            await asyncio.sleep(ttl / 3)
            sent_at = time.monotonic()
            try:
                renewed = await self.locker.redis.eval(
                    _RENEW, 1, self.locker.key(self.upload_id), self.token, int(ttl * 1000)
                )
                if not renewed:
                    log.warning("lock on %s was lost (expired or taken)", self.upload_id)
                    self.tell(ReleaseCause.LOST)
                    return
                last_renewed = loop.time()
                self._extend_lease(sent_at)
            except RedisError as error:
                if loop.time() - last_renewed > ttl / 2:
                    log.warning("cannot renew the lock on %s (%s); stopping its writer", self.upload_id, error)
                    self.tell(ReleaseCause.LOST)
                    return

    async def release(self) -> None:
        self._released = True
        if self._renewal is not None:
            self._renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewal
        self.locker._forget(self)
        try:
            await self.locker.redis.eval(_RELEASE, 1, self.locker.key(self.upload_id), self.token)
        except RedisError as error:
            log.warning("could not release the lock on %s (%s); it expires by itself", self.upload_id, error)


class RedisLocker:
    def __init__(self, redis: Redis, *, prefix: str, ttl: float = 10.0) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl
        self.channel = f"{prefix}lock-release"
        self._held: dict[str, RedisLock] = {}

    def key(self, upload_id: str) -> str:
        return f"{self.prefix}lock:{upload_id}"

    async def acquire(
        self,
        upload_id: str,
        *,
        timeout: float,
        on_release_requested: ReleaseRequest | None = None,
        interrupt: bool = True,
    ) -> RedisLock:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        token = secrets.token_hex(16)
        asked: bytes | str | None = None  # the holder's token we last asked to let go
        while True:
            sent_at = time.monotonic()
            try:
                if await self.redis.set(self.key(upload_id), token, nx=True, px=int(self.ttl * 1000)):
                    break
                if interrupt:
                    holder = await self.redis.get(self.key(upload_id))
                    if holder is not None and holder != asked:  # every new holder is asked, as in memory
                        asked = holder
                        await self.redis.publish(self.channel, upload_id)
            except RedisError:
                raise lock_unavailable(upload_id) from None
            if loop.time() >= deadline:
                raise upload_locked(upload_id, timeout)
            await asyncio.sleep(min(POLL_SECONDS, max(0.0, deadline - loop.time())))
        lock = RedisLock(self, upload_id, token, on_release_requested, lease_from=sent_at)
        self._held[upload_id] = lock
        lock.start_renewal()
        return lock

    def _forget(self, lock: RedisLock) -> None:
        if self._held.get(lock.upload_id) is lock:
            del self._held[lock.upload_id]

    def release_requested(self, upload_id: str) -> None:
        """A request on some instance wants this upload: if we hold it, our writer lets go."""
        lock = self._held.get(upload_id)
        if lock is not None:
            lock.tell(ReleaseCause.REQUESTED)

    async def listen(self) -> None:
        """Carry release requests from every instance to the local holders; reconnects by itself."""
        await subscribe_forever(self.redis, self.channel, lambda data: self.release_requested(data.decode()))
