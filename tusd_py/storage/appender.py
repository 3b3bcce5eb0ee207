"""Appending a request body to a file: large writes in a worker thread, overlapped with receiving."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from tusd_py.protocol.checksum import Hasher

DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024
# On a slow link a block fills slowly; hand what we have to storage at least this often so the
# stored offset (and the progress reported from it) keeps moving.
MAX_HOLD_SECONDS = 0.25


def _write_all(fd: int, block: bytes | bytearray, hasher: Hasher | None) -> int:
    if hasher is not None:
        hasher.update(block)  # hashlib releases the GIL for large blocks: this thread does the work
    view = memoryview(block)
    while view:
        view = view[os.write(fd, view) :]
    return len(block)


class FileAppender:
    """Buffers incoming bytes into blocks; at most one block is being written while the next fills."""

    def __init__(
        self,
        path: Path,
        *,
        hasher: Hasher | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
        on_written: Callable[[int], None] | None = None,
    ) -> None:
        self.path = path
        self.written = 0
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o664)
        self._hasher = hasher
        self._block_size = block_size
        self._on_written = on_written
        self._buffer = bytearray()
        self._in_flight: asyncio.Future[int] | None = None
        self._counted: asyncio.Future[int] | None = None  # the last block whose bytes `written` includes
        self._loop = asyncio.get_running_loop()
        self._handoff_lock = asyncio.Lock()  # one hand-off at a time keeps blocks in order
        self._timer: asyncio.TimerHandle | None = None
        self._timed_flush: asyncio.Task[None] | None = None
        self._closed = False

    async def write(self, data: bytes) -> None:
        if not self._buffer and self._timer is None:
            self._timer = self._loop.call_later(MAX_HOLD_SECONDS, self._flush_held_bytes)
        self._buffer += data
        if len(self._buffer) >= self._block_size:
            await self._hand_off()

    def _flush_held_bytes(self) -> None:
        """A stalled or slow sender: hand over what it sent so far instead of holding it in memory."""
        self._timer = None
        if self._buffer and not self._closed:
            self._timed_flush = self._loop.create_task(self._hand_off())

    async def _hand_off(self) -> None:
        async with self._handoff_lock:
            await self._settle()
            if not self._buffer:
                return
            block, self._buffer = self._buffer, bytearray()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._in_flight = self._loop.run_in_executor(None, _write_all, self._fd, block, self._hasher)
            self._in_flight.add_done_callback(self._block_written)

    def _block_written(self, in_flight: asyncio.Future[int]) -> None:
        """Count a finished block once: from its done-callback, or from `_settle` if that runs first."""
        if in_flight is self._counted or in_flight.cancelled() or in_flight.exception() is not None:
            return
        self._counted = in_flight
        self.written += in_flight.result()
        if self._on_written is not None:
            self._on_written(self.written)

    async def _settle(self) -> None:
        """Wait for the block in flight. Shielded: a cancelled request must not lose a block mid-write."""
        if self._in_flight is None:
            return
        in_flight = self._in_flight
        await asyncio.shield(in_flight)
        # A future that finished in this turn of the loop has not run its done-callbacks yet: count it here.
        self._block_written(in_flight)
        if self._in_flight is in_flight:
            self._in_flight = None

    async def flush(self) -> None:
        await self._hand_off()
        await self._settle()

    def digest(self) -> bytes | None:
        return self._hasher.digest() if self._hasher is not None else None

    async def close(self, keep: bool = True) -> int:
        if self._closed:
            return self.written
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        try:
            await self.flush()
        finally:
            os.close(self._fd)
        return self.written


def append_file(source: Path, target: Path) -> int:
    """Append all of `source` to `target` in the kernel where possible. Blocking: run it in a thread."""
    with open(source, "rb") as src, open(target, "r+b") as dst:
        total = os.fstat(src.fileno()).st_size
        dst_offset = os.fstat(dst.fileno()).st_size
        copied = 0
        try:
            while copied < total:
                n = os.copy_file_range(src.fileno(), dst.fileno(), total - copied, copied, dst_offset + copied)
                if n == 0:
                    break
                copied += n
        except OSError:
            src.seek(copied)
            dst.seek(dst_offset + copied)
            while chunk := src.read(DEFAULT_BLOCK_SIZE):
                dst.write(chunk)
                copied += len(chunk)
        return copied
