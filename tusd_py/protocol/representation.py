"""How a finished upload is presented on download: a safe Content-Type and an unbreakable Content-Disposition."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

DEFAULT_TYPE = "application/octet-stream"
# Types a browser may render in place. No HTML, SVG, XML or PDF: they can run script or phish in our origin.
INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
        "video/mp4",
        "video/webm",
        "video/ogg",
        "video/quicktime",
        "audio/mpeg",
        "audio/ogg",
        "audio/wav",
        "audio/webm",
        "audio/mp4",
        "audio/aac",
        "audio/flac",
        "text/plain",
    }
)
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
TYPE_KEYS = ("filetype", "type", "contentType", "mimeType")
NAME_KEYS = ("filename", "name")


def content_type(metadata: dict[str, str]) -> str:
    """The declared type if it is a well-formed media type (parameters dropped), else octet-stream."""
    for key in TYPE_KEYS:
        declared = metadata.get(key, "").split(";", 1)[0].strip().lower()
        if _MEDIA_TYPE.fullmatch(declared):
            return declared
    return DEFAULT_TYPE


_LAST_PART = re.compile(r"[/\\]")


def filename(metadata: dict[str, str]) -> str | None:
    """The declared file name without any directory part or control character."""
    for key in NAME_KEYS:
        name = _LAST_PART.split(metadata.get(key, ""))[-1]
        if not name.isprintable():  # printable text has no control or format character to drop
            name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
        name = name.strip()
        if name and name not in {".", ".."}:
            return name[:255]
    return None


def content_disposition(media_type: str, name: str | None) -> str:
    """`inline` only for safe types; RFC 6266 with an ASCII fallback and a UTF-8 `filename*`."""
    kind = "inline" if media_type in INLINE_TYPES else "attachment"
    if name is None:
        return kind
    fallback = "".join(ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\%;' else "_" for ch in name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
