"""API keys: `X-API-Key: <key>`, each key naming its owner; from a file or from TUSD_PY_API_KEYS."""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.requests import HTTPConnection

from tusd_py.auth.principal import Principal, credential, unauthenticated


def _digest(key: str) -> bytes:
    # Keys are looked up by digest, so lookup time does not depend on how much of a key matched.
    return hashlib.sha256(key.encode()).digest()


def parse_key_lines(text: str) -> dict[str, Principal]:
    """`KEY OWNER [admin]` a line; `#` starts a comment."""
    keys: dict[str, Principal] = {}
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) not in (2, 3) or (len(words) == 3 and words[2] != "admin"):
            raise ValueError(f"api keys line {number}: expected 'KEY OWNER [admin]'")
        keys[words[0]] = Principal(words[1], admin=len(words) == 3)
    return keys


def parse_key_list(text: str) -> dict[str, Principal]:
    """`key:owner[:admin],…` as in TUSD_PY_API_KEYS."""
    keys: dict[str, Principal] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        parts = item.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1] or (len(parts) == 3 and parts[2] != "admin"):
            raise ValueError(f"api keys: expected 'key:owner[:admin]', got {item.split(':')[0][:4]}…")
        keys[parts[0]] = Principal(parts[1], admin=len(parts) == 3)
    return keys


def load_keys(path: Path | None, listed: str | None) -> dict[str, Principal]:
    keys = parse_key_lines(path.read_text()) if path is not None else {}
    keys.update(parse_key_list(listed) if listed else {})
    if not keys:
        raise ValueError("auth api-key needs keys: --api-keys-file or TUSD_PY_API_KEYS")
    return keys


class ApiKeyAuthenticator:
    def __init__(self, keys: dict[str, Principal]) -> None:
        self._principals = {_digest(key): principal for key, principal in keys.items()}

    async def __call__(self, connection: HTTPConnection) -> Principal | None:
        key = credential(connection, "x-api-key")
        if key is None:
            return None
        principal = self._principals.get(_digest(key))
        if principal is None:
            raise unauthenticated("unknown API key", "ApiKey")
        return principal
