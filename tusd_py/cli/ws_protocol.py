"""uvicorn's WebSocket protocol, plus a way for the application to write a ready-made frame straight to the socket."""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from tusd_py.http.direct_frames import EXTENSION as DIRECT_FRAMES


class DirectFramesProtocol(WebSocketsSansIOProtocol):
    """Offers `write_frame` in the connection's scope (tusd_py.http.direct_frames).

    A frame written here goes to the transport whole, between the frames uvicorn writes itself (pings, pongs,
    messages sent through ASGI, the close), so the stream stays well formed. It is refused before the handshake
    has been accepted, once a close has been sent or the peer is gone, and while the transport has asked for
    writing to pause: then the caller keeps the message and sends it the usual way, which waits for the socket.
    """

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        # The application's task was created above but has not run yet: the offer is in place before it looks.
        if hasattr(self, "scope"):  # absent when the handshake was refused
            self.scope["extensions"][DIRECT_FRAMES] = {"write": self.write_frame}

    def write_frame(self, frame: bytes) -> bool:
        if (
            not self.handshake_complete
            or self.initial_response is not None
            or self.close_sent
            or self.disconnected
            or not self.writable.is_set()
            or self.conn.state is not State.OPEN
        ):
            return False
        self.transport.write(frame)
        return True
