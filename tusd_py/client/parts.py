"""How a file is laid out on the server: one upload, or consecutive ranges each sent as a partial upload."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Part:
    """The bytes [start, start + length) of the file, sent to `url`; `offset` is what the server holds of them."""

    url: str
    start: int
    length: int
    offset: int = 0

    @property
    def done(self) -> bool:
        return self.offset >= self.length


def split(size: int, count: int) -> list[tuple[int, int]]:
    """`count` consecutive (start, length) ranges covering `size` bytes, as even as can be and none empty
    (fewer ranges than asked when the file has fewer bytes); one empty range for an empty file."""
    count = max(1, min(count, size))
    base, extra = divmod(size, count)
    ranges = []
    start = 0
    for index in range(count):
        length = base + (1 if index < extra else 0)
        ranges.append((start, length))
        start += length
    return ranges
