"""Appending a request body to a file: large gathered writes in a worker thread, overlapped with receiving."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

from tusd_py.protocol.checksum import Hasher
from tusd_py.storage.base import WriteFenced
from tusd_py.storage.splice import SPLICERS, SpliceResult, Stop, splice_socket_to_file, splice_works

DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024
# On a slow link, or when the sender pauses, a block fills slowly; what arrived goes to storage after this
# long at most, so the stored offset (and the progress events reported from it) follow the sender closely.
# A fast sender fills blocks long before it: its writes stay large.
MAX_HOLD_SECONDS = 0.02
# A block this small, with no other block being written, is written by the event loop itself: a write of up to
# 256 KiB into the page cache takes tens of microseconds, less than handing it to a thread and back (the
# thread's wake-up, the future's callback through the loop's self-pipe, and the two threads taking turns on the
# GIL), which made a small file's PATCH or creation-with-upload wait on the hand-off (docs/PERFORMANCE.md).
INLINE_WRITE_LIMIT = 256 * 1024


IOV_MAX = os.sysconf("SC_IOV_MAX") if "SC_IOV_MAX" in os.sysconf_names else 1024
StillOurs = Callable[[], bool]


def _write_all(fd: int, pieces: list[bytes], hasher: Hasher | None, still_ours: StillOurs | None) -> int:
    """Write the pieces in order with writev: the bytes go from the received chunks straight to the file."""
    # Checked here, in the writing thread, as late as possible: a process that was frozen past its lock's lease
    # finds out before it writes, not after.
    if still_ours is not None and not still_ours():
        raise WriteFenced
    if hasher is not None:
        for piece in pieces:
            hasher.update(piece)  # hashlib releases the GIL for large pieces: this thread does the work
    total = 0
    pending: list[bytes | memoryview] = list(pieces)
    while pending:
        batch = pending[:IOV_MAX]
        written = os.writev(fd, batch)
        if written == 0:
            raise OSError("writev wrote nothing")
        total += written
        done = 0
        while done < len(batch) and written >= len(batch[done]):
            written -= len(batch[done])
            done += 1
        pending = pending[done:]
        if written:
            pending[0] = memoryview(pending[0])[written:]  # a short write: the rest of this piece goes next
    return total


class FileAppender:
    """Gathers incoming chunks into blocks; at most one block is being written while the next fills.

    A block is the list of the chunks themselves, not a copy of them: the writer thread hands them to
    writev, so each byte is copied once, into the file.

    `still_ours()` is asked before each block is written; once it says no, nothing more is written and
    `write` raises `WriteFenced`."""

    def __init__(
        self,
        path: Path,
        *,
        hasher: Hasher | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
        on_written: Callable[[int], None] | None = None,
        still_ours: StillOurs | None = None,
    ) -> None:
        self.path = path
        self.written = 0
        self.fenced = False
        self._still_ours = still_ours
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o664)
        self._hasher = hasher
        self._block_size = block_size
        self._on_written = on_written
        self._pieces: list[bytes] = []
        self._buffered = 0
        self._in_flight: asyncio.Future[int] | None = None
        self._counted: asyncio.Future[int] | None = None  # the last block whose bytes `written` includes
        self._loop = asyncio.get_running_loop()
        self._handoff_lock = asyncio.Lock()  # one hand-off at a time keeps blocks in order
        self._timer: asyncio.TimerHandle | None = None
        self._timed_flush: asyncio.Task[None] | None = None
        self._closed = False

    async def write(self, data: bytes) -> None:
        if self.fenced:
            raise WriteFenced
        if not data:
            return
        if not self._pieces and self._timer is None:
            self._timer = self._loop.call_later(MAX_HOLD_SECONDS, self._flush_held_bytes)
        self._pieces.append(data if type(data) is bytes else bytes(data))  # a mutable buffer could change
        self._buffered += len(data)
        if self._buffered >= self._block_size:
            await self._hand_off()

    def _flush_held_bytes(self) -> None:
        """A stalled or slow sender: hand over what it sent so far instead of holding it in memory."""
        self._timer = None
        if self._pieces and not self._closed:
            self._timed_flush = self._loop.create_task(self._hand_off())
            self._timed_flush.add_done_callback(_left_to_the_request)

    async def _hand_off(self) -> None:
        async with self._handoff_lock:
            await self._settle()
            if self.fenced:
                self._pieces, self._buffered = [], 0
            if not self._pieces:
                return
            block, buffered, self._pieces, self._buffered = self._pieces, self._buffered, [], 0
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if buffered <= INLINE_WRITE_LIMIT:
                self._write_inline(block)
                return
            self._in_flight = self._loop.run_in_executor(
                None, _write_all, self._fd, block, self._hasher, self._still_ours
            )
            self._in_flight.add_done_callback(self._block_written)

    def _write_inline(self, block: list[bytes]) -> None:
        """A small block, written here; counted, or fenced, as a block from the writer thread is."""
        try:
            written = _write_all(self._fd, block, self._hasher, self._still_ours)
        except WriteFenced:
            self.fenced = True
            return
        self.written += written
        if self._on_written is not None:
            self._on_written(self.written)

    def _block_written(self, in_flight: asyncio.Future[int]) -> None:
        """Count a finished block once: from its done-callback, or from `_settle` if that runs first."""
        if in_flight is self._counted or in_flight.cancelled():
            return
        self._counted = in_flight
        if isinstance(in_flight.exception(), WriteFenced):
            self.fenced = True
            self._pieces, self._buffered = [], 0
        elif in_flight.exception() is None:
            self.written += in_flight.result()
            if self._on_written is not None:
                self._on_written(self.written)

    async def _settle(self) -> None:
        """Wait for the block in flight. Shielded: a cancelled request must not lose a block mid-write."""
        if self._in_flight is None:
            return
        in_flight = self._in_flight
        with contextlib.suppress(WriteFenced):
            await asyncio.shield(in_flight)
        # A future that finished in this turn of the loop has not run its done-callbacks yet: count it here.
        self._block_written(in_flight)
        if self._in_flight is in_flight:
            self._in_flight = None

    async def flush(self) -> None:
        if self.fenced:
            return
        await self._hand_off()
        await self._settle()

    def digest(self) -> bytes | None:
        return self._hasher.digest() if self._hasher is not None else None

    def takes_sockets(self) -> bool:
        """Whether `take_from_socket` may be used: nothing to hash, and a file system splice can write to."""
        return self._hasher is None and not self.fenced and splice_works(self.path.parent)

    async def take_from_socket(
        self, sock_fd: int, count: int, *, on_moved: Callable[[int], None] | None = None
    ) -> SpliceResult | None:
        """Store the next `count` bytes of a socket after what was written, in the kernel (storage/splice.py).

        None when no splice thread is free (nothing was taken). `on_moved(total)` hears the bytes taken so
        far, as `on_written` does. Cancelling stops the move; what it took is stored and counted first."""
        await self.flush()
        if self.fenced:
            return SpliceResult(fenced=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CLOEXEC)  # splice refuses O_APPEND descriptors
        stop = Stop()
        base = self.written
        loop = self._loop

        def moved(total: int) -> None:
            if base + total > self.written:
                self.written = base + total
                if self._on_written is not None:
                    self._on_written(self.written)
                if on_moved is not None:
                    on_moved(total)

        def report(total: int) -> None:  # in the splice thread
            loop.call_soon_threadsafe(moved, total)

        work = partial(
            splice_socket_to_file,
            sock_fd,
            fd,
            os.fstat(self._fd).st_size,
            count,
            stop=stop,
            still_ours=self._still_ours,
            report=report,
            check_every=self._block_size,
            body_offset=base,
        )
        started = SPLICERS.try_submit(work)
        cancelled = False
        try:
            if started is None:
                return None
            splicing = asyncio.wrap_future(started)
            while not splicing.done():  # until the thread is done with the descriptors, whatever happens here
                try:
                    await asyncio.shield(splicing)
                except asyncio.CancelledError:
                    cancelled = True  # the thread stops at its next step; what it took is counted first
                    stop.set()
        finally:
            os.close(fd)
            stop.close()
        result = splicing.result()
        moved(result.moved)
        if result.fenced:
            self.fenced = True
        if cancelled:
            raise asyncio.CancelledError
        return result

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


def _left_to_the_request(task: asyncio.Task[None]) -> None:
    """A timed hand-off's failure (a full disk) stays on the block in flight, so the request's next write, flush or
    close raises it; here it is only taken, so that asyncio does not log it as never retrieved."""
    if not task.cancelled():
        task.exception()


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
