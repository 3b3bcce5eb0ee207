"""The draft's Structured Fields (RFC 9651): Upload-Complete/-Incomplete booleans, integers, Upload-Limit."""

from __future__ import annotations

import re

from tusd_py.protocol.constants import MAX_INT64
from tusd_py.protocol.errors import bad_header

_INTEGER = re.compile(r"-?[0-9]{1,15}")  # an sf-integer has at most 15 digits
_KEY = re.compile(r"[a-z*][a-z0-9_.*-]*")


def parse_boolean(name: str, value: str) -> bool:
    """`?1` or `?0`, parameters allowed and ignored; anything else is a 400 (the field cannot be ignored here:
    it decides whether the request is an upload at all)."""
    item = value.strip().split(";", 1)[0]
    if item == "?1":
        return True
    if item == "?0":
        return False
    raise bad_header(name, "must be the Structured Field boolean ?0 or ?1", value)


def parse_integer(name: str, value: str) -> int:
    """A non-negative sf-integer (parameters ignored); anything else is a 400."""
    item = value.strip().split(";", 1)[0]
    if not _INTEGER.fullmatch(item) or item.startswith("-"):
        raise bad_header(name, "must be a non-negative Structured Field integer", value)
    number = int(item)
    if number > MAX_INT64:  # cannot happen with 15 digits, kept as the store's bound
        raise bad_header(name, "must be below 2^63", value)
    return number


def format_boolean(value: bool) -> str:
    return "?1" if value else "?0"


def format_dictionary(members: dict[str, int]) -> str:
    """A Dictionary of integer members, in the given order: `max-size=1024, min-size=0`."""
    return ", ".join(f"{key}={value}" for key, value in members.items())


def parse_dictionary(value: str) -> dict[str, int | bool]:
    """A Dictionary whose members are integers or booleans (what Upload-Limit carries); for tests and clients.
    Members of other types, and parameters, are skipped; a malformed dictionary raises ValueError."""
    members: dict[str, int | bool] = {}
    for member in value.split(","):
        member = member.strip()
        if not member:
            raise ValueError(f"empty member in {value!r}")
        key, _, item = member.partition("=")
        key = key.split(";", 1)[0].strip()
        if not _KEY.fullmatch(key):
            raise ValueError(f"bad key {key!r} in {value!r}")
        item = item.split(";", 1)[0].strip()
        if not item:
            members[key] = True
        elif _INTEGER.fullmatch(item):
            members[key] = int(item)
        elif item in ("?0", "?1"):
            members[key] = item == "?1"
    return members
