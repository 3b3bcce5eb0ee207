"""Sending one event to many WebSockets as one frame, made once and written to each socket from the publisher.

`tusd-py serve`'s WebSocket protocol puts a writer in the connection's scope (`scope["extensions"][EXTENSION]`):
`write(frame)` puts a whole, ready-made frame on the socket at once and says True, or says False (the socket is
not open, or its write buffer is full) and writes nothing. The event streams use it for the live part of a
stream, so an event that goes to a thousand subscribers is framed once and costs each of them one socket write,
with no task to wake and no ASGI message to pass. Under any other ASGI server there is none, and every event
goes through `websocket.send_text()`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Any

from tusd_py.events.models import Event

EXTENSION = "tusd_py.direct_frames"

FrameWriter = Callable[[bytes], bool]


def frame_writer_of(scope: Mapping[str, Any]) -> FrameWriter | None:
    offer: dict[str, FrameWriter] | None = scope.get("extensions", {}).get(EXTENSION)
    return offer["write"] if offer is not None else None


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked text frame (RFC 6455 section 5.2), as a server sends it."""
    length = len(payload)
    if length < 126:
        head = bytes((0x81, length))
    elif length < 1 << 16:
        head = struct.pack("!BBH", 0x81, 126, length)
    else:
        head = struct.pack("!BBQ", 0x81, 127, length)
    return head + payload


class EventFrames:
    """Each event's text frame, made when the first socket needs it. A fan-out sends one event to every
    subscriber before the next event, so remembering the latest one frames each event once.

    It also counts the event messages sent to WebSockets: `written` straight from the publisher, `queued` by
    a stream's own task (through ASGI), for /metrics."""

    def __init__(self) -> None:
        self._event: Event | None = None
        self._frame = b""
        self.written = 0
        self.queued = 0

    def of(self, event: Event) -> bytes:
        if event is not self._event:
            self._frame = text_frame(event.to_json().encode())
            self._event = event
        return self._frame

    def sender(self, write: FrameWriter) -> Callable[[Event], bool]:
        """A function that writes an event to one socket: True when it was written, False when it was not."""

        def send(event: Event) -> bool:
            if not write(self.of(event)):
                return False
            self.written += 1
            return True

        return send
