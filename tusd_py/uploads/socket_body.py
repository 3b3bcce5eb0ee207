"""A request body that is still in its socket, offered by the server so storage can take it without reading it.

`tusd-py serve`'s HTTP protocol puts one in the request's scope (`scope["extensions"][EXTENSION]`) for a body
with a Content-Length of MIN_LENGTH or more. `detach()` stops the server reading the socket and hands over the
part of the body it already read plus the socket; `reattach()` gives the socket back with the count of bytes
taken from it. Under any other ASGI server there is none, and bodies come through `receive()` as usual.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

EXTENSION = "tusd_py.socket_body"
# Below this a body is not worth a thread of its own: it comes through receive(). The server reads nothing of
# a body this long past what came with its head until the app has either taken the socket or asked receive().
MIN_LENGTH = 1024 * 1024


@dataclass
class DetachedBody:
    fd: int  # the socket; valid until reattach()
    length: int  # bytes of the body still in the socket
    received: list[bytes] = field(default_factory=list)  # bytes of the body already read, which come first


class SocketBody(Protocol):
    length: int  # the body's Content-Length

    def detach(self) -> DetachedBody | None:
        """Take the socket over; None when that is not possible (any more), and `receive()` goes on."""
        ...

    def reattach(self, taken: int) -> None:
        """Give the socket back: `taken` bytes of the body were read from it (a closed one the server finds out)."""
        ...


def socket_body_of(scope: Mapping[str, Any]) -> SocketBody | None:
    body: SocketBody | None = scope.get("extensions", {}).get(EXTENSION)
    return body
