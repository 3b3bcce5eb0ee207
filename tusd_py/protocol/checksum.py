"""The checksum extension: Upload-Checksum parsing and the supported digest algorithms."""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from dataclasses import dataclass
from typing import Protocol

from tusd_py.protocol.errors import TusError, bad_header

HEADER = "Upload-Checksum"


class Hasher(Protocol):
    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...
    def digest(self) -> bytes: ...


class Crc32:
    """CRC-32 (IEEE) with a big-endian digest, as tusd computes it."""

    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        self._value = zlib.crc32(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(4, "big")


def _hashlib(name: str) -> type[Hasher]:
    return lambda: hashlib.new(name)  # type: ignore[return-value]


ALGORITHMS: dict[str, type[Hasher]] = {
    "sha1": _hashlib("sha1"),
    "sha256": _hashlib("sha256"),
    "md5": _hashlib("md5"),
    "crc32": Crc32,
}


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes

    def hasher(self) -> Hasher:
        factory = ALGORITHMS.get(self.algorithm)  # RFC 9530 digests may also ask for sha512
        return factory() if factory is not None else hashlib.new(self.algorithm)  # type: ignore[return-value]


def parse_checksum(value: str) -> Checksum:
    """`<algorithm> <base64 digest>`; an unknown algorithm or malformed digest is a 400."""
    parts = value.strip().split(" ")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise bad_header(HEADER, "must be '<algorithm> <base64 digest>'", value)
    algorithm = parts[0].lower()
    if algorithm not in ALGORITHMS:
        raise TusError(
            400,
            "unsupported_checksum_algorithm",
            f"checksum algorithm {parts[0]!r} is not supported",
            {"supported": sorted(ALGORITHMS)},
        )
    try:
        digest = base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        raise bad_header(HEADER, "the digest is not valid base64", value) from None
    return Checksum(algorithm, digest)


def checksum_mismatch(checksum: Checksum) -> TusError:
    return TusError(
        460,
        "checksum_mismatch",
        f"the body's {checksum.algorithm} digest does not match Upload-Checksum; nothing was stored",
        {"algorithm": checksum.algorithm},
    )
