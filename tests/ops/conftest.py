"""Servers for the operations tests: one that keeps running (metrics, health, request ids, JSON logs), and one
stopped by SIGTERM in the middle of a PATCH and a creation-with-upload while a download is stuck (graceful
shutdown, a whole JSON log)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from tests.lifecycle.live import create, running, start_patch, stored_size
from tests.support.live_server import LiveServer
from tests.support.raw_http import RawRequest
from tests.support.tus import OFFSET_BODY, payload, upload_id
from tests.support.waiting import wait_until

SHUTDOWN_TIMEOUT = 1.0
PATCH_SIZE = 2 * 1024 * 1024
PATCH_SENT = 700_000
PATCH_DATA = payload(PATCH_SIZE, seed=11)
POST_SIZE = 1024 * 1024
POST_SENT = 300_000


@pytest.fixture(scope="package")
def ops_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Default settings with JSON logs."""
    with running(tmp_path_factory.mktemp("ops"), "--log-format", "json") as server:
        yield server


def stuck_download(server: LiveServer) -> RawRequest:
    """A GET of a finished 8 MiB upload whose client reads a few bytes and then nothing: the answer cannot end."""
    size = 8 * 1024 * 1024
    url = create(server.endpoint, size)
    os.truncate(server.upload_dir / upload_id(url), size)  # the file store's offset is the data file's size
    request = RawRequest(server.port, "GET", url.split(str(server.port), 1)[1], {})
    request.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    assert request.sock.recv(100).startswith(b"HTTP/1.1 200")
    return request


def seconds_to_stop(server: LiveServer, give_up_after: float) -> float:
    """SIGTERM and wait; SIGKILL after `give_up_after`, so that a hang costs a test seconds, not the suite's timeout."""
    started = time.monotonic()
    server.stop(timeout=give_up_after)
    return time.monotonic() - started


def start_creation_with_upload(server: LiveServer, length: int) -> RawRequest:
    headers = {**OFFSET_BODY, "Upload-Length": str(length), "Content-Length": str(length)}
    return RawRequest(server.port, "POST", server.base_path, headers)


def data_files_of_size(server: LiveServer, size: int) -> list[str]:
    return [p.name for p in server.upload_dir.iterdir() if "." not in p.name and p.stat().st_size == size]


Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Stopped:
    server: LiveServer
    url: str  # the upload the PATCH was writing to
    status: int  # the PATCH's answer
    headers: dict[str, str]
    body: bytes
    creation: Answer  # the answer to the creation-with-upload
    created_id: str  # the upload that creation made
    seconds_to_exit: float
    stored_after_exit: bytes  # the upload's data file once the process had exited
    log: str  # the server's whole log, start-up to exit


@pytest.fixture(scope="package")
def stopped_mid_patch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stopped]:
    """JSON logs and --shutdown-timeout 1s. A PATCH sent PATCH_SENT of PATCH_SIZE bytes, a creation-with-upload
    POST_SENT of POST_SIZE (all stored), and a download is stuck; then SIGTERM. The answers are read while the
    server stops."""
    root = tmp_path_factory.mktemp("stopped")
    args = ("--shutdown-timeout", f"{SHUTDOWN_TIMEOUT:g}s", "--log-format", "json")
    server = LiveServer(root / "uploads", root / "server.log", *args)
    server.upload_dir.mkdir()
    server.start()
    try:
        download = stuck_download(server)
        url = create(server.endpoint, PATCH_SIZE)
        request = start_patch(server, url, 0, PATCH_SIZE)
        request.send(PATCH_DATA[:PATCH_SENT])
        wait_until(lambda: stored_size(server, url) == PATCH_SENT)
        creation = start_creation_with_upload(server, POST_SIZE)
        creation.send(PATCH_DATA[:POST_SENT])
        (created_id,) = wait_until(lambda: data_files_of_size(server, POST_SENT))
        with ThreadPoolExecutor(2) as pool:
            answer = pool.submit(request.response, 10)
            creation_answer = pool.submit(creation.response, 10)
            seconds_to_exit = seconds_to_stop(server, give_up_after=SHUTDOWN_TIMEOUT + 4)
            status, headers, body = answer.result()
        request.close()
        creation.close()
        download.close()
        stored = (server.upload_dir / upload_id(url)).read_bytes()
        yield Stopped(
            server=server,
            url=url,
            status=status,
            headers=headers,
            body=body,
            creation=creation_answer.result(),
            created_id=created_id,
            seconds_to_exit=seconds_to_exit,
            stored_after_exit=stored,
            log=server.log(),
        )
    finally:
        server.kill()
