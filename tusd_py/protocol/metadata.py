"""Upload-Metadata: comma-separated `key base64value` pairs, parsed strictly and formatted back."""

from __future__ import annotations

import base64
import binascii
import re

from tusd_py.protocol.errors import bad_header

HEADER = "Upload-Metadata"
_KEY = re.compile(r"[\x21-\x2b\x2d-\x7e]+")  # printable ASCII without space and comma
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def parse_metadata(header: str, *, max_pairs: int = 256) -> dict[str, str]:
    """Decode the header; a key alone means an empty value; an empty header means no metadata."""
    metadata: dict[str, str] = {}
    if not header.strip():
        return metadata
    pairs = header.split(",")
    if len(pairs) > max_pairs:
        raise bad_header(HEADER, f"more than {max_pairs} pairs")
    for pair in pairs:
        parts = pair.strip().split(" ")
        if len(parts) > 2 or not parts[0]:
            raise bad_header(HEADER, "each pair must be a key and an optional base64 value", pair)
        key = parts[0]
        if not _KEY.fullmatch(key):
            raise bad_header(HEADER, "keys must be ASCII without spaces or commas", key)
        if key in metadata:
            raise bad_header(HEADER, f"key {key!r} appears twice")
        metadata[key] = _decode_value(key, parts[1]) if len(parts) == 2 else ""
    return metadata


def _decode_value(key: str, value: str) -> str:
    if len(value) % 4 or not _BASE64.fullmatch(value):
        raise bad_header(HEADER, f"value of {key!r} is not valid base64", value)
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise bad_header(HEADER, f"value of {key!r} is not valid base64", value) from None
    return raw.decode("utf-8", errors="replace")


def format_metadata(metadata: dict[str, str]) -> str:
    """The header form of a metadata mapping (for uploads whose original header was not kept)."""
    pairs = []
    for key, value in metadata.items():
        encoded = base64.b64encode(value.encode("utf-8")).decode("ascii")
        pairs.append(f"{key} {encoded}" if encoded else key)
    return ",".join(pairs)
