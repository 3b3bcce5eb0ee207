"""Reading request headers strictly: one value each, non-negative decimal integers, HTTP dates."""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import formatdate

from tusd_py.protocol.constants import MAX_INT64
from tusd_py.protocol.errors import bad_header

_DECIMAL = re.compile(r"[0-9]{1,19}")


class Headers:
    """Request headers from an ASGI scope, with repeated tus headers treated as an error."""

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in raw:
            self._values.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))

    def get(self, name: str) -> str | None:
        """The header's single value, or None. A repeated header is a 400."""
        values = self._values.get(name.lower())
        if not values:
            return None
        if len(values) > 1:
            raise bad_header(name, "the header must not be repeated")
        return values[0]

    def get_all(self, name: str) -> list[str]:
        return list(self._values.get(name.lower(), []))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values


def parse_uint(name: str, value: str) -> int:
    """A non-negative decimal integer below 2**63: no sign, no spaces, no hex."""
    if not _DECIMAL.fullmatch(value):
        raise bad_header(name, "must be a non-negative decimal integer", value)
    number = int(value)
    if number > MAX_INT64:
        raise bad_header(name, "must be below 2^63", value)
    return number


def optional_uint(headers: Headers, name: str) -> int | None:
    value = headers.get(name)
    return None if value is None else parse_uint(name, value)


def http_date(timestamp: float) -> str:
    """RFC 9110 IMF-fixdate, as Upload-Expires wants it."""
    return formatdate(timestamp, usegmt=True)


def media_type(content_type: str | None) -> str:
    """`Application/Offset+Octet-Stream; charset=x` -> `application/offset+octet-stream`."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()
