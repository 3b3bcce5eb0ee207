"""A form request written by hand on a socket, up to the first bytes of its file: for requests cut or stalled
mid-file."""

from __future__ import annotations

from tests.support.live_server import LiveServer


def form_file_opening(server: LiveServer, *, batch: str, filename: str, boundary: str, length: int) -> bytes:
    """Request head and body up to where the file's bytes start: a `batch` field, then the file part's head.
    `Content-Length` says `length`, more than the test will send."""
    head = (
        f"POST {server.base_path}form HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\r\n"
    )
    fields = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="batch"\r\n\r\n{batch}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="f"; filename="{filename}"\r\n\r\n'
    )
    return (head + fields).encode()
