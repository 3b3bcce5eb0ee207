"""The SHA-256 of each upload's bytes, computed as they arrive, for `Repr-Digest` on download (RFC 9530).

hashlib's state cannot be saved, so the running state lives in this process's memory, one small object per
upload being written, keyed by the offset it covers. Bodies that pass through user space feed it in the writer
thread; bodies the kernel splices are read back behind the writer while they arrive (CatchUp). An upload whose
state was lost (a restart, another process took its next request) is read once from storage at completion."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from tusd_py.protocol.checksum import Hasher

Sha256 = Any  # hashlib's private _Hash type


class RunningDigests:
    def __init__(self) -> None:
        self._states: dict[str, tuple[int, Sha256]] = {}

    def resume(self, upload_id: str, offset: int) -> Sha256 | None:
        """The state covering exactly the first `offset` bytes, or None when it was lost."""
        if offset == 0:
            return hashlib.sha256()
        state = self._states.get(upload_id)
        return state[1].copy() if state is not None and state[0] == offset else None

    def keep(self, upload_id: str, offset: int, state: Sha256) -> None:
        self._states[upload_id] = (offset, state)

    def forget(self, upload_id: str) -> None:
        self._states.pop(upload_id, None)

    def __len__(self) -> int:
        return len(self._states)


class Tee:
    """Feeds one body to the request's checksum (if any), to the upload's running digest (if kept) and to the
    hasher of a stated whole-upload digest of another algorithm (if any), counting bytes."""

    def __init__(self, checksum: Hasher | None, running: Sha256 | None, whole: Hasher | None = None) -> None:
        self.checksum = checksum
        self.running = running
        self.whole = whole
        self.count = 0

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        for hasher in (self.checksum, self.running, self.whole):
            if hasher is not None:
                hasher.update(data)
        self.count += len(data)

    def digest(self) -> bytes:
        """The body's checksum, or without one the whole upload's SHA-256 (what the appender reports)."""
        hasher = self.checksum or self.running or self.whole
        assert hasher is not None
        return hasher.digest()


class CatchUp:
    """Hashes what storage received by reading it back (from the page cache) a little behind the writer, while
    the body still arrives: for bodies the kernel moves from socket to file past user space. Each byte is read
    back and hashed once; what is left when the body ends is only what arrived last."""

    def __init__(self, state: Sha256, start: int, read: Callable[[int, int], AsyncIterator[bytes]]) -> None:
        self.state = state
        self.hashed = start
        self._target = start
        self._read = read
        self._task: asyncio.Task[None] | None = None
        self._failed = False

    def advance(self, offset: int) -> None:
        """Storage now holds the upload up to `offset`."""
        self._target = max(self._target, offset)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            while self.hashed < self._target and not self._failed:
                async for chunk in self._read(self.hashed, self._target):
                    await asyncio.to_thread(self.state.update, chunk)
                    self.hashed += len(chunk)
        except Exception:  # the upload went away under it: the completion reads it whole instead
            self._failed = True

    async def finish(self, offset: int) -> Sha256 | None:
        """The state covering exactly `offset` bytes, once hashed that far; None if that could not be done."""
        if offset < self.hashed:
            return None
        self.advance(offset)
        assert self._task is not None
        await asyncio.shield(self._task)
        return None if self._failed or self.hashed != offset else self.state
