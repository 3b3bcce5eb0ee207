"""What the server announces: the tus version check, extensions and limits (OPTIONS and 412)."""

from __future__ import annotations

from collections.abc import Collection

from tusd_py.protocol.checksum import ALGORITHMS
from tusd_py.protocol.constants import TUS_VERSION
from tusd_py.protocol.errors import TusError
from tusd_py.protocol.headers import Headers


def require_tus_resumable(headers: Headers) -> None:
    value = headers.get("Tus-Resumable")
    if value is None or value.strip() != TUS_VERSION:
        raise TusError(
            412,
            "unsupported_tus_version",
            f"this server speaks tus {TUS_VERSION}; send Tus-Resumable: {TUS_VERSION}",
            {"received": (value or "")[:50]},
            headers={"Tus-Version": TUS_VERSION},
        )


def extensions(capabilities: Collection[str], *, expiration: bool) -> list[str]:
    """The tus extensions this server can honour with a store of these capabilities."""
    supported = ["creation", "creation-with-upload"]
    if "deferred-length" in capabilities:
        supported.append("creation-defer-length")
    if expiration:
        supported.append("expiration")
    if "staged-append" in capabilities:
        supported.append("checksum")
    if "termination" in capabilities:
        supported.append("termination")
    if "concatenation" in capabilities:
        supported += ["concatenation", "concatenation-unfinished"]
    return supported


def discovery_headers(capabilities: Collection[str], *, max_size: int | None, expiration: bool) -> dict[str, str]:
    names = extensions(capabilities, expiration=expiration)
    headers = {"Tus-Version": TUS_VERSION, "Tus-Extension": ",".join(names)}
    if max_size is not None:
        headers["Tus-Max-Size"] = str(max_size)
    if "checksum" in names:
        headers["Tus-Checksum-Algorithm"] = ",".join(ALGORITHMS)
    return headers
