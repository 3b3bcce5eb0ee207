"""RFC 9110 byte ranges and conditional requests for downloads: pure decisions, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

from tusd_py.protocol.errors import TusError

MAX_RANGES = 64
_SPEC = re.compile(r"([0-9]*)-([0-9]*)")


@dataclass(frozen=True)
class ByteRange:
    """Bytes `start` up to and including `last`."""

    start: int
    last: int

    @property
    def length(self) -> int:
        return self.last - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.last}/{size}"


def range_not_satisfiable(size: int) -> TusError:
    return TusError(
        416,
        "range_not_satisfiable",
        f"no requested range overlaps the {size} bytes of this upload",
        {"size": size},
        headers={"Content-Range": f"bytes */{size}"},
    )


def parse_range(header: str, size: int) -> list[ByteRange] | None:
    """The ranges to send, sorted and coalesced; None means ignore the header and send everything.

    A malformed header, another unit or too many ranges are ignored as RFC 9110 allows; a well-formed
    header of which no range overlaps the content is a 416.
    """
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes" or not specs.strip():
        return None
    parts = [part.strip() for part in specs.split(",") if part.strip()]
    if not parts or len(parts) > MAX_RANGES:
        return None
    ranges: list[ByteRange] = []
    for part in parts:
        match = _SPEC.fullmatch(part)
        if match is None or match.group(0) == "-":
            return None
        first, last = match.group(1), match.group(2)
        if first and last and _position(first) > _position(last):
            return None
        if size == 0 and not first and _position(last) > 0:
            return None  # a suffix of an empty file is satisfiable but has no bytes: send the (empty) whole
        satisfiable = _resolve(first, last, size)
        if satisfiable is not None:
            ranges.append(satisfiable)
    if not ranges:
        raise range_not_satisfiable(size)
    return _coalesce(ranges)


def _resolve(first: str, last: str, size: int) -> ByteRange | None:
    if not first:  # suffix: the last N bytes
        suffix = _position(last)
        return ByteRange(max(0, size - suffix), size - 1) if suffix > 0 and size > 0 else None
    start = _position(first)
    if start >= size:
        return None
    return ByteRange(start, min(_position(last), size - 1) if last else size - 1)


def _position(digits: str) -> int:
    """A byte position; anything longer than 19 digits is past any file (and never parsed whole)."""
    return int(digits) if len(digits) <= 19 else 2**63


def _coalesce(ranges: list[ByteRange]) -> list[ByteRange]:
    merged: list[ByteRange] = []
    for current in sorted(ranges, key=lambda r: r.start):
        if merged and current.start <= merged[-1].last + 1:
            merged[-1] = ByteRange(merged[-1].start, max(merged[-1].last, current.last))
        else:
            merged.append(current)
    return merged


def _http_seconds(value: str) -> int | None:
    """Every HTTP date format is GMT, asctime's too (which Python would otherwise read as local time)."""
    try:
        moment = parsedate_to_datetime(value.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _etags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def is_not_modified(if_none_match: str | None, if_modified_since: str | None, etag: str, last_modified: float) -> bool:
    """304 decision: If-None-Match (weak comparison) wins; If-Modified-Since counts only without it."""
    if if_none_match is not None:
        tags = _etags(if_none_match)
        return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)
    if if_modified_since is not None:
        since = _http_seconds(if_modified_since)
        return since is not None and int(last_modified) <= since
    return False


def range_is_current(if_range: str | None, etag: str, last_modified: float) -> bool:
    """If-Range: honour the Range only when the client's copy is this exact representation."""
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith('"'):
        return value == etag  # strong comparison: a weak tag never matches
    if value.startswith("W/"):
        return False
    since = _http_seconds(value)
    return since is not None and since == int(last_modified)
