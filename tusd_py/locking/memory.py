"""Per-upload locks for a single process: an asyncio event per held lock, no thread and no polling."""

from __future__ import annotations

import asyncio

from tusd_py.locking.base import ReleaseCause, ReleaseRequest, upload_locked


class _Holder:
    __slots__ = ("asked", "on_release_requested", "released")

    def __init__(self, on_release_requested: ReleaseRequest | None) -> None:
        self.released = asyncio.Event()
        self.on_release_requested = on_release_requested
        self.asked = False

    def ask_to_release(self) -> None:
        if not self.asked and self.on_release_requested is not None:
            self.asked = True
            self.on_release_requested(ReleaseCause.REQUESTED)


class MemoryLock:
    def __init__(self, locker: MemoryLocker, upload_id: str, holder: _Holder) -> None:
        self._locker = locker
        self._upload_id = upload_id
        self._holder = holder
        self._released = False

    async def release(self) -> None:
        self._released = True
        self._locker._release(self._upload_id, self._holder)

    def is_held(self) -> bool:
        return not self._released


class MemoryLocker:
    def __init__(self) -> None:
        self._held: dict[str, _Holder] = {}

    def is_locked(self, upload_id: str) -> bool:
        return upload_id in self._held

    async def acquire(
        self,
        upload_id: str,
        *,
        timeout: float,
        on_release_requested: ReleaseRequest | None = None,
        interrupt: bool = True,
    ) -> MemoryLock:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (holder := self._held.get(upload_id)) is not None:
            if interrupt:
                holder.ask_to_release()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise upload_locked(upload_id, timeout)
            try:
                await asyncio.wait_for(holder.released.wait(), remaining)
            except TimeoutError:
                raise upload_locked(upload_id, timeout) from None
        holder = _Holder(on_release_requested)
        self._held[upload_id] = holder
        return MemoryLock(self, upload_id, holder)

    def _release(self, upload_id: str, holder: _Holder) -> None:
        if self._held.get(upload_id) is holder:
            del self._held[upload_id]
        holder.released.set()
