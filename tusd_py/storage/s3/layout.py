"""tusd's s3store layout, as pure functions: keys, ids, and the offset a listing of parts gives.

An upload `<objectId>+<multipartId>` is kept as
- `<prefix>/<objectId>`: the data, assembled by the multipart upload `<multipartId>` (created with the upload);
- `<prefix>/<objectId>.info`: tusd's JSON, written at creation and when a deferred length is declared, kept after
  completion; its `Offset` is not maintained;
- `<prefix>/<objectId>.part`: a tail shorter than S3's smallest part, until more bytes arrive.

The offset is the sum of the parts plus the `.part` object's size. Two rules of tusd_py's own keep it exact after a
crash, while leaving what tusd reads unchanged:
- parts upload concurrently, so a crash can leave part k+1 without part k: only the parts numbered 1, 2, … without
  a gap count, and an appender overwrites the parts beyond a gap with empty parts before it fills the gap (an
  empty part counts 0 and is left out of the completion);
- a `.part` tusd_py writes carries the number of the part its bytes will open (`x-amz-meta-tusd-py-next-part`):
  once that part exists, the `.part` is stale (its bytes went into the part) and counts 0.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from tusd_py.protocol.errors import upload_not_found
from tusd_py.protocol.ids import split_object_id

MIN_PART_SIZE = 5 * 2**20  # S3's smallest part, but for the last
MAX_PART_SIZE = 5 * 2**30
MAX_PARTS = 10_000
NEXT_PART_META = "tusd-py-next-part"  # on a `.part` object: the part number its bytes will open


@dataclass(frozen=True)
class Part:
    number: int
    size: int
    etag: str
    modified: float = 0.0


@dataclass
class Listing:
    """What S3 holds of an unfinished upload: the parts that count, those to overwrite, and the `.part` tail."""

    parts: list[Part] = field(default_factory=list)  # numbered 1, 2, … without a gap
    stale: list[int] = field(default_factory=list)  # part numbers beyond a gap: left by a crash, to be emptied
    tail_size: int = 0  # the `.part` object's bytes that count (0 when absent or stale)
    tail_exists: bool = False  # a `.part` object exists (counted or stale)

    @property
    def offset(self) -> int:
        return sum(part.size for part in self.parts) + self.tail_size

    @property
    def next_number(self) -> int:
        """The number of the next part: the first gap (the stale parts beyond it are emptied before it is written)."""
        return len(self.parts) + 1


def listing_from(parts: list[Part], tail_size: int | None, tail_next_part: int | None) -> Listing:
    """The listing from ListParts' parts and the `.part` object's size (None: absent) and tag (None: tusd's)."""
    ordered = sorted(parts, key=lambda part: part.number)
    counted: list[Part] = []
    stale: list[int] = []
    for part in ordered:
        if not stale and part.number == len(counted) + 1:
            counted.append(part)
        else:
            stale.append(part.number)
    tail = tail_size or 0
    if tail and tail_next_part is not None and any(part.number == tail_next_part and part.size for part in counted):
        tail = 0  # its bytes are in that part already: a crash came between the part and the `.part`'s removal
    return Listing(counted, stale, tail, tail_size is not None)


def join_id(object_id: str, multipart_id: str) -> str:
    return f"{object_id}+{multipart_id}"


def split_id(upload_id: str) -> tuple[str, str]:
    """(objectId, multipartId) of an S3 upload id; 404 for anything else."""
    parts = split_object_id(upload_id)
    if parts is None:
        raise upload_not_found(upload_id)
    return parts


class Keys:
    """Object keys under a prefix, as tusd forms them (`a/b` and `a/b/` both give `a/b/<objectId>`)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"

    def data(self, object_id: str) -> str:
        return self.prefix + object_id

    def info(self, object_id: str) -> str:
        return self.prefix + object_id + ".info"

    def tail(self, object_id: str) -> str:
        return self.prefix + object_id + ".part"

    def object_id_of_info(self, key: str) -> str | None:
        """The objectId of an `.info` key under the prefix; None for any other key."""
        if not key.startswith(self.prefix) or not key.endswith(".info"):
            return None
        object_id = key[len(self.prefix) : -len(".info")]
        return object_id if object_id and "/" not in object_id else None


def storage_of(bucket: str, key: str) -> dict[str, str]:
    """The `Storage` of tusd's `.info` and hook requests."""
    return {"Type": "s3store", "Bucket": bucket, "Key": key}


def part_size_for(size: int | None, preferred: int) -> int:
    """The part size for an upload: the preferred one, grown so a known size fits in S3's 10,000 parts."""
    if size is None:
        return preferred
    needed = -(-size // (MAX_PARTS - 1))
    return min(MAX_PART_SIZE, max(preferred, needed))


def copy_ranges(size: int) -> list[tuple[int, int]]:
    """A partial of `size` bytes as UploadPartCopy ranges: one, or equal ones of at most 5 GiB (never a small one)."""
    count = max(1, -(-size // MAX_PART_SIZE))
    bounds = [size * index // count for index in range(count + 1)]
    return list(itertools.pairwise(bounds))
