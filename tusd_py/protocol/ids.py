"""Upload ids: unguessable when made here, strictly checked when read from a URL."""

from __future__ import annotations

import re
import secrets

from tusd_py.protocol.constants import RESERVED_IDS

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
# The S3 store's ids are tusd's: `<objectId>+<multipartId>`, the multipart id as S3 made it (dots allowed there).
_OBJECT_ID = re.compile(r"([A-Za-z0-9][A-Za-z0-9_-]{0,127})\+([A-Za-z0-9_.~=-]{1,1024})")


def new_upload_id() -> str:
    """128 random bits in hex, the shape tusd gives its ids."""
    return secrets.token_hex(16)


def is_plain_upload_id(candidate: str) -> bool:
    """Letters, digits, `-` and `_` only: no dots, no slashes, so no path can escape the upload dir."""
    return bool(_ID.fullmatch(candidate)) and candidate not in RESERVED_IDS


def split_object_id(candidate: str) -> tuple[str, str] | None:
    """An S3 store id's (objectId, multipartId), split at the last `+`; None when it is not one."""
    match = _OBJECT_ID.fullmatch(candidate)
    if match is None or match.group(1) in RESERVED_IDS or ".." in match.group(2):
        return None
    return match.group(1), match.group(2)


def is_valid_upload_id(candidate: str) -> bool:
    """A plain id (every store's), or an S3 store's `objectId+multipartId`: never a slash, never a path."""
    return is_plain_upload_id(candidate) or split_object_id(candidate) is not None
