"""The upload socket as the client's transport, against a real server: refusals the server sends over the socket
become the same client errors an HTTP answer would, and what was stored is where the next attempt starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live_server import LiveServer, start_live
from tusd_py.client.errors import TransientError, UploadGone, UploadRejected
from tusd_py.client.parts import Part
from tusd_py.client.socket_transport import SocketSend, SocketTransport, socket_url


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_live(tmp_path_factory.mktemp("socket-transport"), "--max-size", "1KiB")
    yield server
    server.stop()


def job(path: Path, part: Part) -> SocketSend:
    async def created(url: str) -> None: ...

    return SocketSend(path, part, {"filename": path.name}, created, lambda _: None, lambda _: None, chunk_size=1024)


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("http://127.0.0.1:1080/files/", "ws://127.0.0.1:1080/files/upload"),
        ("https://uploads.example/api/files", "wss://uploads.example/api/files/upload"),
    ],
)
def test_the_socket_is_upload_under_the_endpoint(endpoint: str, url: str) -> None:
    assert socket_url(endpoint) == url


async def test_a_size_the_server_refuses_over_the_socket_is_rejected_as_over_http(
    server: LiveServer, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(b"x" * 2048)
    with pytest.raises(UploadRejected) as refused:
        await SocketTransport(server.endpoint, {}, 30, None).send(job(source, Part("", 0, 2048)))
    assert (refused.value.status, refused.value.error_code) == (413, "upload_too_large")
    assert not isinstance(refused.value, TransientError)


async def test_resuming_an_upload_the_server_does_not_know_is_gone(server: LiveServer, tmp_path: Path) -> None:
    source = tmp_path / "small.bin"
    source.write_bytes(b"y" * 10)
    part = Part(server.endpoint + "0123456789abcdef0123456789abcdef", 0, 10)
    with pytest.raises(UploadGone) as gone:
        await SocketTransport(server.endpoint, {}, 30, None).send(job(source, part))
    assert gone.value.status == 404


async def test_an_attempt_leaves_the_part_at_the_servers_offset(server: LiveServer, tmp_path: Path) -> None:
    source = tmp_path / "fits.bin"
    source.write_bytes(bytes(range(256)) * 3)
    part = Part("", 0, 768)
    await SocketTransport(server.endpoint, {}, 30, None).send(job(source, part))
    assert part.url.startswith(server.endpoint) and part.offset == 768
    assert (server.upload_dir / part.url.rsplit("/", 1)[-1]).read_bytes() == source.read_bytes()
