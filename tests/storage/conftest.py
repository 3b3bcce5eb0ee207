"""Fixtures for storage tests that move bytes between files and real sockets."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


@pytest.fixture
def server_and_client() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected loopback pair: the server's end (accepted, and non-blocking as a server's socket is) and the
    client's."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    server.setblocking(False)
    yield server, client
    server.close()
    client.close()
