"""RFC 9530 integrity fields: `Content-Digest` (one message's body) and `Repr-Digest` (the whole upload)."""

from __future__ import annotations

import base64
import binascii
import re

from tusd_py.protocol.checksum import Checksum
from tusd_py.protocol.errors import TusError, bad_header

# RFC 9530's algorithm names, strongest first, and hashlib's names for them. Others are ignored, as the RFC lets
# a recipient ignore algorithms it does not support.
ALGORITHMS = {"sha-512": "sha512", "sha-256": "sha256"}
_MEMBER = re.compile(r"\s*([a-z][a-z0-9_.*-]*)\s*=\s*:([A-Za-z0-9+/=]*):\s*(?:;[^,]*)?")


def parse_digest(name: str, value: str, *, algorithms: tuple[str, ...] = tuple(ALGORITHMS)) -> Checksum | None:
    """The strongest of `algorithms` in a Content-Digest or Repr-Digest dictionary, as a checksum to verify;
    None when it names none of them. A malformed field is a 400."""
    found: dict[str, bytes] = {}
    for member in value.split(","):
        match = _MEMBER.fullmatch(member)
        if match is None:
            raise bad_header(name, "must be a dictionary of byte sequences, e.g. sha-256=:<base64>:", value)
        try:
            found[match.group(1)] = base64.b64decode(match.group(2), validate=True)
        except binascii.Error:
            raise bad_header(name, "a digest is not valid base64", value) from None
    for algorithm, hashlib_name in ALGORITHMS.items():
        if algorithm in found and algorithm in algorithms:
            return Checksum(hashlib_name, found[algorithm])
    return None


def format_repr_digest(sha256: bytes) -> str:
    return "sha-256=:" + base64.b64encode(sha256).decode() + ":"


def digest_mismatch(name: str, checksum: Checksum, *, whole: bool = False) -> TusError:
    """`whole`: the digest stated for the whole upload did not match once its last body arrived."""
    algorithm = next(rfc for rfc, ours in ALGORITHMS.items() if ours == checksum.algorithm)
    what = "the upload's" if whole else "the body's"
    return TusError(
        400,
        "digest_mismatch",
        f"{what} {algorithm} digest does not match {name}; nothing of this body was stored",
        {"field": name, "algorithm": algorithm},
    )
