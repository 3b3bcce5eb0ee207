"""Bytes of a local file for PATCH bodies: a range read block by block in a thread, optionally paced, and its digest."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from tusd_py.protocol.checksum import ALGORITHMS

BLOCK_SIZE = 256 * 1024
CHECKSUM_ALGORITHMS = tuple(ALGORITHMS)


class Pacer:
    """Keeps the bytes sent by everyone sharing it under `rate` bytes per second (`--limit-rate`)."""

    def __init__(self, rate: int) -> None:
        if rate <= 0:
            raise ValueError("the rate must be positive")
        self.rate = rate
        self.next_free = time.monotonic()

    @property
    def block_size(self) -> int:
        """Blocks of about an eighth of a second, so a slow rate is smooth rather than bursty."""
        return max(1024, min(BLOCK_SIZE, self.rate // 8))

    async def take(self, count: int) -> None:
        now = time.monotonic()
        wait = max(0.0, self.next_free - now)
        self.next_free = max(now, self.next_free) + count / self.rate
        if wait:
            await asyncio.sleep(wait)


async def read_range(
    path: Path,
    start: int,
    length: int,
    *,
    pacer: Pacer | None = None,
    on_block: Callable[[int], None] | None = None,
    largest_block: int | None = None,
) -> AsyncIterator[bytes]:
    """`length` bytes from `start`, never more than a block in memory; `on_block(n)` after each block is handed on."""
    block_size = pacer.block_size if pacer is not None else BLOCK_SIZE
    if largest_block is not None:
        block_size = min(block_size, largest_block)
    file = await asyncio.to_thread(open, path, "rb")
    try:
        await asyncio.to_thread(file.seek, start)
        left = length
        while left > 0:
            wanted = min(block_size, left)
            if pacer is not None:
                await pacer.take(wanted)
            block = await asyncio.to_thread(file.read, wanted)
            if not block:
                raise OSError(f"{path} is shorter than when the upload started: it changed while uploading")
            left -= len(block)
            yield block
            if on_block is not None:
                on_block(len(block))
    finally:
        await asyncio.to_thread(file.close)


def _digest(path: Path, start: int, length: int, algorithm: str) -> bytes:
    hasher = ALGORITHMS[algorithm]()
    with open(path, "rb") as file:
        file.seek(start)
        left = length
        while left > 0:
            block = file.read(min(BLOCK_SIZE, left))
            if not block:
                raise OSError(f"{path} is shorter than when the upload started: it changed while uploading")
            hasher.update(block)
            left -= len(block)
    return hasher.digest()


async def checksum_header(path: Path, start: int, length: int, algorithm: str) -> str:
    """The Upload-Checksum value (`<algorithm> <base64 digest>`) of a range of the file, hashed in a thread."""
    digest = await asyncio.to_thread(_digest, path, start, length, algorithm)
    return f"{algorithm} {base64.b64encode(digest).decode('ascii')}"
