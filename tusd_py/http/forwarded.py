"""What a trusted reverse proxy says about the original request: scheme, host and path prefix."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tusd_py.protocol.headers import Headers

_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
)
_PREFIX = re.compile(r"(?:/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*/?")
_SCHEMES = {"http", "https"}


@dataclass(frozen=True)
class ForwardedOrigin:
    scheme: str | None = None
    host: str | None = None
    prefix: str = ""


def _first(value: str | None) -> str | None:
    if value is None:
        return None
    first = value.split(",", 1)[0].strip()
    return first or None


def _forwarded_pairs(header: str) -> dict[str, str]:
    """The first element of an RFC 7239 Forwarded header as a dict of its pairs."""
    pairs: dict[str, str] = {}
    for pair in header.split(",", 1)[0].split(";"):
        name, _, value = pair.partition("=")
        pairs[name.strip().lower()] = value.strip().strip('"')
    return pairs


def forwarded_origin(headers: Headers) -> ForwardedOrigin:
    """Only well-formed values are taken; anything odd is ignored rather than echoed into a Location."""
    forwarded = headers.get_all("Forwarded")
    pairs = _forwarded_pairs(forwarded[0]) if forwarded else {}
    scheme = (pairs.get("proto") or _first(_last(headers, "X-Forwarded-Proto")) or "").lower()
    host = pairs.get("host") or _first(_last(headers, "X-Forwarded-Host"))
    prefix = _first(_last(headers, "X-Forwarded-Prefix")) or ""
    return ForwardedOrigin(
        scheme=scheme if scheme in _SCHEMES else None,
        host=host if host and _HOST.fullmatch(host) else None,
        prefix=prefix.rstrip("/") if _PREFIX.fullmatch(prefix) and "//" not in prefix else "",
    )


def _last(headers: Headers, name: str) -> str | None:
    values = headers.get_all(name)
    return values[0] if values else None
