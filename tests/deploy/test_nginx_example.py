"""examples/nginx/tusd_py.conf in front of a real tusd_py: what a client sees through the proxy is the real thing."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from websockets.exceptions import ConnectionClosedOK
from websockets.sync.client import connect

from tests.deploy.conftest import Deployment
from tests.interop.source_data import SOURCE_SIZE, MiB
from tests.interop.stored_upload import sha256
from tests.interop.tus_js_client import TusJsClient
from tests.support.raw_http import RawRequest
from tests.support.tus import OFFSET_BODY, TUS, create, offset_of, patch, payload, upload_id
from tests.support.waiting import wait_until

FILE_METADATA = {"filename": "source.bin", "filetype": "application/octet-stream"}


def start_patch(deployment: Deployment, url: str, offset: int, length: int) -> RawRequest:
    """A PATCH to nginx whose body the test sends (or not) piece by piece."""
    headers = {**OFFSET_BODY, "Upload-Offset": str(offset), "Content-Length": str(length)}
    return RawRequest(deployment.proxy.port, "PATCH", urlsplit(url).path, headers)


def http_chunk(data: bytes) -> bytes:
    """One chunk of a `Transfer-Encoding: chunked` body; an empty one ends the body."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def stored_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


# -- uploads with a real client -------------------------------------------------------------------------


def test_a_whole_file_goes_through_nginx_in_one_patch(
    deployment: Deployment, tus_js_client: TusJsClient, source_file: Path
) -> None:
    run = tus_js_client.upload(source_file, endpoint=deployment.endpoint, metadata=FILE_METADATA)

    assert run.ok, run.explain()
    assert run.upload_url is not None
    # One PATCH of more than 3 MiB: nginx sets no body-size limit of its own (its default is 1 MiB).
    assert [exchange.method for exchange in run.exchanges] == ["POST", "PATCH"]
    assert deployment.stored(run.upload_url).sha256 == sha256(source_file.read_bytes())


def test_an_upload_in_several_patches_goes_through_nginx(
    deployment: Deployment, tus_js_client: TusJsClient, source_file: Path
) -> None:
    run = tus_js_client.upload(source_file, endpoint=deployment.endpoint, chunkSize=MiB, metadata=FILE_METADATA)

    assert run.ok, run.explain()
    assert run.upload_url is not None
    assert [patch.status for patch in run.patches] == [204] * len(range(0, SOURCE_SIZE, MiB))
    assert deployment.stored(run.upload_url).sha256 == sha256(source_file.read_bytes())


def test_an_upload_the_client_aborted_resumes_through_nginx(
    deployment: Deployment, tus_js_client: TusJsClient, source_file: Path, tmp_path: Path
) -> None:
    url_storage = str(tmp_path / "tus-js-client-urls.json")
    first = tus_js_client.upload(
        source_file, endpoint=deployment.endpoint, urlStorage=url_storage, chunkSize=MiB // 2, abortAfterBytes=MiB
    )
    assert first.ok and first.aborted, first.explain()

    second = tus_js_client.upload(source_file, endpoint=deployment.endpoint, urlStorage=url_storage, chunkSize=MiB // 2)

    assert second.ok, second.explain()
    assert second.resumed_from == first.upload_url
    assert second.creations == []
    assert second.exchanges[0].method == "HEAD"
    assert second.exchanges[0].response_headers["upload-offset"] == str(first.bytes_uploaded)
    assert deployment.stored(first.upload_url or "").sha256 == sha256(source_file.read_bytes())


def test_parallel_parts_are_concatenated_from_their_public_urls(
    deployment: Deployment, tus_js_client: TusJsClient, source_file: Path
) -> None:
    run = tus_js_client.upload(source_file, endpoint=deployment.endpoint, parallelUploads=2, metadata=FILE_METADATA)

    assert run.ok, run.explain()
    assert run.upload_url is not None
    partials = [exchange for exchange in run.exchanges if exchange.creates_partial_upload]
    partial_urls = [exchange.response_headers["location"] for exchange in partials]
    final = next(exchange for exchange in run.exchanges if exchange.creates_final_upload)
    assert len(partial_urls) == 2
    assert all(url.startswith(deployment.endpoint) for url in partial_urls)
    # The parts are created concurrently: the log's order need not be the parts' order (the digest checks that).
    assert sorted(final.request_headers["upload-concat"].removeprefix("final;").split(" ")) == sorted(partial_urls)
    assert deployment.stored(run.upload_url).sha256 == sha256(source_file.read_bytes())


# -- URLs ---------------------------------------------------------------------------------------------


def test_location_names_the_public_host_and_prefix(deployment: Deployment) -> None:
    response = httpx.post(deployment.endpoint, headers={**TUS, "Upload-Length": "1"})

    assert response.status_code == 201, response.text
    location = response.headers["location"]
    assert location == f"http://127.0.0.1:{deployment.proxy.port}/uploads/files/{upload_id(location)}"
    assert (deployment.server.upload_dir / f"{upload_id(location)}.info").exists()


def test_forwarding_headers_a_client_sends_do_not_reach_tusd_py(deployment: Deployment) -> None:
    spoofed = {
        "Forwarded": "proto=https;host=evil.example",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Prefix": "/evil",
    }
    response = httpx.post(deployment.endpoint, headers={**TUS, "Upload-Length": "1", **spoofed})

    assert response.status_code == 201, response.text
    assert response.headers["location"] == deployment.public_url(upload_id(response.headers["location"]))


def test_the_progress_snapshot_links_to_the_public_download_url(deployment: Deployment) -> None:
    url = create(deployment.endpoint, 3)
    assert patch(url, 0, b"abc").status_code == 204

    snapshot = httpx.get(url + "/progress").json()

    assert snapshot["url"] == url
    assert snapshot["download_url"] == url


# -- bodies stream both ways --------------------------------------------------------------------------


def test_a_patch_body_reaches_tusd_py_while_the_client_is_still_sending_it(deployment: Deployment) -> None:
    size = 2 * MiB
    data = payload(size, seed=7)
    url = create(deployment.endpoint, size)
    request = start_patch(deployment, url, 0, size)
    try:
        request.send(data[:700_000])
        # Had nginx buffered the request, tusd_py would see nothing before the body's last byte.
        wait_until(lambda: stored_size(deployment.data_file(url)) == 700_000)

        request.send(data[700_000:])
        status, headers, _ = request.response()
    finally:
        request.close()
    assert status == 204
    assert headers["upload-offset"] == str(size)


def test_a_chunked_transfer_encoded_body_reaches_tusd_py_while_the_client_is_still_sending_it(
    deployment: Deployment,
) -> None:
    size = 2 * MiB
    data = payload(size, seed=10)
    url = create(deployment.endpoint, size)
    headers = {**OFFSET_BODY, "Upload-Offset": "0", "Transfer-Encoding": "chunked"}
    request = RawRequest(deployment.proxy.port, "PATCH", urlsplit(url).path, headers)
    try:
        request.send(http_chunk(data[:700_000]))
        # nginx streams a chunked body only when it speaks HTTP/1.1 to tusd_py; otherwise it buffers it whole.
        wait_until(lambda: stored_size(deployment.data_file(url)) == 700_000)

        request.send(http_chunk(data[700_000:]) + http_chunk(b""))
        status, headers, _ = request.response()
    finally:
        request.close()
    assert status == 204
    assert headers["upload-offset"] == str(size)


def test_a_ranged_download_through_nginx_returns_the_requested_bytes(deployment: Deployment) -> None:
    data = payload(100_000, seed=8)
    url = create(deployment.endpoint, len(data))
    assert patch(url, 0, data).status_code == 204

    response = httpx.get(url, headers={"Range": "bytes=1000-1999"})

    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    assert response.content == data[1000:2000]


def test_a_download_through_nginx_keeps_its_length_and_strong_etag(deployment: Deployment) -> None:
    """The harness turns gzip on for text, as many server-wide configs do; downloads must stay untouched."""
    data = b"plain text, and plenty of it\n" * 1000
    url = create(deployment.endpoint, len(data), **{"Upload-Metadata": "filetype dGV4dC9wbGFpbg=="})
    assert patch(url, 0, data).status_code == 204

    response = httpx.get(url, headers={"Accept-Encoding": "gzip"})

    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == str(len(data))
    assert not response.headers["etag"].startswith("W/")


def test_an_upload_whose_connection_drops_mid_body_resumes_through_nginx(deployment: Deployment) -> None:
    size = 2 * MiB
    data = payload(size, seed=9)
    url = create(deployment.endpoint, size)
    request = start_patch(deployment, url, 0, size)
    request.send(data[:700_000])
    wait_until(lambda: stored_size(deployment.data_file(url)) == 700_000)
    request.abort()

    assert offset_of(url) == 700_000
    assert patch(url, 700_000, data[700_000:]).status_code == 204
    assert sha256(deployment.data_file(url).read_bytes()) == sha256(data)


def test_live_events_reach_a_websocket_through_nginx(deployment: Deployment) -> None:
    url = create(deployment.endpoint, 3)
    events_url = url.replace("http://", "ws://", 1) + "/events"

    types = []
    with connect(events_url, open_timeout=10) as websocket:
        types.append(json.loads(websocket.recv(timeout=10))["type"])
        assert patch(url, 0, b"abc").status_code == 204
        with contextlib.suppress(ConnectionClosedOK):  # the server ends an upload's stream once it completes
            while True:
                types.append(json.loads(websocket.recv(timeout=10))["type"])

    assert types[0] == "created"
    assert types[-1] == "completed"


# -- what stays private -------------------------------------------------------------------------------


def test_metrics_are_not_published_through_nginx(deployment: Deployment) -> None:
    assert httpx.get(deployment.proxy.base_url + "/uploads/metrics").status_code == 404
    assert httpx.get(deployment.server.base_url + "/metrics").status_code == 200
