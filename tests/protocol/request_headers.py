"""Building `Headers` the way an ASGI scope delivers them, for tests of the pure protocol functions."""

from __future__ import annotations

from tusd_py.protocol.headers import Headers


def headers(*pairs: tuple[str, str], **fields: str | int) -> Headers:
    """`headers(upload_length=5)` or `headers(("Upload-Length", "5"), ("Upload-Length", "6"))`."""
    raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in pairs]
    for field, value in fields.items():
        name = "-".join(part.capitalize() for part in field.split("_"))
        raw.append((name.lower().encode("latin-1"), str(value).encode("latin-1")))
    return Headers(raw)
