"""The lock interface. A waiter asks the holder to let go; the holder's request ends, keeping what it stored."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Protocol

from tusd_py.protocol.errors import TusError


class ReleaseCause(StrEnum):
    REQUESTED = "requested"  # another request wants this upload
    LOST = "lost"  # the lock could not be kept (it expired, or its store became unreachable)


ReleaseRequest = Callable[[ReleaseCause], None]


def lock_unavailable(upload_id: str) -> TusError:
    return TusError(
        503,
        "lock_unavailable",
        "the lock service is unreachable, so this upload cannot be changed safely right now; retry shortly",
        {"upload_id": upload_id},
        headers={"Retry-After": "2"},
    )


def upload_locked(upload_id: str, waited: float) -> TusError:
    return TusError(
        423,
        "upload_locked",
        f"another request is writing to this upload and did not let go within {waited:g}s; retry later",
        {"upload_id": upload_id},
        headers={"Retry-After": "1"},
    )


class Lock(Protocol):
    async def release(self) -> None: ...

    def is_held(self) -> bool:
        """Certainly still ours by this process's clock: not released, not lost, its lease not run out.
        Cheap (no I/O), so writers ask it before every block."""
        ...


class Locker(Protocol):
    async def acquire(
        self,
        upload_id: str,
        *,
        timeout: float,
        on_release_requested: ReleaseRequest | None = None,
        interrupt: bool = True,
    ) -> Lock:
        """Take the upload's lock, asking a holder to let go (unless not `interrupt`); 423 after `timeout` s."""
        ...


@asynccontextmanager
async def holding(
    locker: Locker,
    upload_id: str,
    *,
    timeout: float,
    on_release_requested: ReleaseRequest | None = None,
    interrupt: bool = True,
) -> AsyncIterator[Lock]:
    lock = await locker.acquire(
        upload_id, timeout=timeout, on_release_requested=on_release_requested, interrupt=interrupt
    )
    try:
        yield lock
    finally:
        await lock.release()
