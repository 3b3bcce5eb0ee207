"""Upload ids: unguessable when made here, strictly checked when read from a URL."""

from __future__ import annotations

import re
import secrets

from tusd_py.protocol.constants import RESERVED_IDS

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def new_upload_id() -> str:
    """128 random bits in hex, the shape tusd gives its ids."""
    return secrets.token_hex(16)


def is_valid_upload_id(candidate: str) -> bool:
    """Letters, digits, `-` and `_` only: no dots, no slashes, so no path can escape the upload dir."""
    return bool(_ID.fullmatch(candidate)) and candidate not in RESERVED_IDS
