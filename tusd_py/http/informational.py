"""Interim (1xx) responses for an ASGI app: sent through the server's extension when it offers one.

`tusd-py serve` puts a callable under `scope["extensions"][EXTENSION]` that writes a 1xx head to the socket at
once, if the final response has not started. Under another ASGI server there is none and nothing is sent:
ASGI has no interim responses, so a client there learns the upload's URL from the final response only."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

EXTENSION = "tusd_py.informational"
SendInformational = Callable[[int, list[tuple[bytes, bytes]]], bool]


def informational_sender(scope: Mapping[str, Any]) -> SendInformational | None:
    extension = (scope.get("extensions") or {}).get(EXTENSION)
    return extension if callable(extension) else None


def encode_headers(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
