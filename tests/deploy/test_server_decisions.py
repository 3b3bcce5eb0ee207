"""Behind the example nginx, tusd_py still makes the calls (a stalled body, a shutdown, a client over its rate)
and its answers reach the client as it gave them."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.deploy.conftest import Deployment, start_deployment
from tests.interop.stored_upload import sha256
from tests.support.raw_http import RawRequest
from tests.support.tus import OFFSET_BODY, TUS, create, offset_of, patch, payload
from tests.support.waiting import wait_until

SIZE = 2 * 1024 * 1024
RATE_BURST = 5


@pytest.fixture(scope="module")
def tuned(nginx: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """A short network timeout and a tight rate limit; each test here talks from its own loopback address."""
    deployed = start_deployment(
        nginx,
        tmp_path_factory.mktemp("tuned-deployment"),
        "--network-timeout", "1s",
        "--rate-limit", "0.1",
        "--rate-burst", str(RATE_BURST),
    )
    yield deployed
    deployed.stop()


def start_patch(deployment: Deployment, url: str, length: int) -> RawRequest:
    headers = {**OFFSET_BODY, "Upload-Offset": "0", "Content-Length": str(length)}
    return RawRequest(deployment.proxy.port, "PATCH", urlsplit(url).path, headers)


def client_at(address: str) -> httpx.Client:
    """A client connecting from another loopback address: to nginx, another machine."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address))


def test_a_stalled_body_is_ended_by_tusd_py_and_its_408_reaches_the_client(tuned: Deployment) -> None:
    """nginx's body timeouts are longer than --network-timeout, so tusd_py's answer, with its offset, wins."""
    url = create(tuned.endpoint, SIZE)
    request = start_patch(tuned, url, SIZE)
    try:
        request.send(b"x" * 100_000)
        status, headers, body = request.response(timeout=10)
    finally:
        request.close()

    assert status == 408
    assert headers["upload-offset"] == "100000"
    assert b'"body_timeout"' in body
    assert offset_of(url) == 100_000


def test_each_client_behind_nginx_has_its_own_rate_limit(tuned: Deployment) -> None:
    creation = {**TUS, "Upload-Length": "1"}
    with client_at("127.0.0.2") as noisy:
        statuses = [noisy.post(tuned.endpoint, headers=creation).status_code for _ in range(RATE_BURST + 1)]
    assert statuses == [201] * RATE_BURST + [429]

    # Every request reaches tusd_py from nginx's own address; only X-Forwarded-For tells the clients apart.
    with client_at("127.0.0.3") as quiet:
        assert quiet.post(tuned.endpoint, headers=creation).status_code == 201


def test_on_sigterm_an_in_flight_patch_answers_503_through_nginx_and_resumes_after_restart(
    make_deployment: Callable[..., Deployment],
) -> None:
    deployment = make_deployment()
    data = payload(SIZE, seed=11)
    url = create(deployment.endpoint, SIZE)
    request = start_patch(deployment, url, SIZE)
    try:
        request.send(data[:500_000])
        wait_until(lambda: deployment.data_file(url).stat().st_size == 500_000)
        assert deployment.server.process is not None
        deployment.server.process.send_signal(signal.SIGTERM)
        status, headers, body = request.response(timeout=10)
    finally:
        request.close()
    assert status == 503
    assert headers["upload-offset"] == "500000"
    assert headers["retry-after"] == "5"
    assert b'"server_shutting_down"' in body

    deployment.server.restart()

    assert offset_of(url) == 500_000
    assert patch(url, 500_000, data[500_000:]).status_code == 204
    assert sha256(deployment.data_file(url).read_bytes()) == sha256(data)
