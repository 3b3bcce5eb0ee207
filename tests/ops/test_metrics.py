"""Prometheus /metrics on a real server: each figure moves by exactly what the requests did."""

from __future__ import annotations

import base64
import hashlib

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.lifecycle.live import create, http, patch, start_patch, stored_size
from tests.support.live_server import LiveServer
from tests.support.tus import OFFSET_BODY, TUS
from tests.support.waiting import wait_until

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def server(ops_server: LiveServer) -> LiveServer:
    return ops_server


def scrape(server: LiveServer) -> Samples:
    response = http.get(server.base_url + "/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_metrics_is_prometheus_text(server: LiveServer) -> None:
    response = http.get(server.base_url + "/metrics")

    assert response.headers["content-type"].startswith("text/plain; version=")
    assert {family.name for family in text_string_to_metric_families(response.text)} >= {
        "tusd_py_requests",
        "tusd_py_errors",
        "tusd_py_bytes_received",
        "tusd_py_uploads_created",
        "tusd_py_uploads_finished",
        "tusd_py_uploads_terminated",
        "tusd_py_open_connections",
    }


def test_requests_are_counted_by_method_and_status(server: LiveServer) -> None:
    before = scrape(server)
    url = create(server.endpoint, 10)
    patch(url, 0, b"12345")
    patch(url, 5, b"67890")
    http.head(url, headers=TUS)
    http.delete(url, headers=TUS)
    after = scrape(server)

    assert moved(before, after, "tusd_py_requests_total", method="POST", status="201") == 1
    assert moved(before, after, "tusd_py_requests_total", method="PATCH", status="204") == 2
    assert moved(before, after, "tusd_py_requests_total", method="HEAD", status="200") == 1
    assert moved(before, after, "tusd_py_requests_total", method="DELETE", status="204") == 1


def test_errors_are_counted_by_status_and_code(server: LiveServer) -> None:
    before = scrape(server)
    url = create(server.endpoint, 10)
    patch(url, 3, b"wrong offset")
    patch(url, 7, b"wrong again")
    http.head(server.endpoint + "0123456789abcdef0123456789abcdef", headers=TUS)
    http.head(url)  # no Tus-Resumable
    http.get(server.base_url + "/no/such/route")
    after = scrape(server)

    assert moved(before, after, "tusd_py_errors_total", status="409", code="offset_mismatch") == 2
    assert moved(before, after, "tusd_py_errors_total", status="404", code="upload_not_found") == 1
    assert moved(before, after, "tusd_py_errors_total", status="412", code="unsupported_tus_version") == 1
    assert moved(before, after, "tusd_py_errors_total", status="404", code="not_found") == 1
    assert moved(before, after, "tusd_py_requests_total", method="PATCH", status="409") == 2


def test_bytes_received_counts_every_stored_byte(server: LiveServer) -> None:
    before = scrape(server)
    created = http.post(server.endpoint, content=b"a" * 1000, headers={**OFFSET_BODY, "Upload-Length": "5000"})
    patch(created.headers["location"], 1000, b"b" * 2500)
    after = scrape(server)

    assert moved(before, after, "tusd_py_bytes_received_total") == 3500


def test_bytes_stored_before_a_client_drops_are_counted(server: LiveServer) -> None:
    url = create(server.endpoint, 1_000_000)
    before = scrape(server)
    request = start_patch(server, url, 0, 1_000_000)
    request.send(b"d" * 100_000)
    wait_until(lambda: stored_size(server, url) == 100_000)

    request.abort()

    wait_until(lambda: moved(before, scrape(server), "tusd_py_bytes_received_total") == 100_000)


def test_bytes_rejected_by_a_checksum_are_not_counted(server: LiveServer) -> None:
    url = create(server.endpoint, 100)
    wrong = base64.b64encode(hashlib.sha1(b"something else").digest()).decode()
    before = scrape(server)

    response = patch(url, 0, b"c" * 50, **{"Upload-Checksum": "sha1 " + wrong})

    assert response.status_code == 460
    after = scrape(server)
    assert moved(before, after, "tusd_py_bytes_received_total") == 0
    assert moved(before, after, "tusd_py_errors_total", status="460", code="checksum_mismatch") == 1


def test_uploads_created_counts_each_creation(server: LiveServer) -> None:
    before = scrape(server)
    for _ in range(3):
        create(server.endpoint, 10)
    after = scrape(server)

    assert moved(before, after, "tusd_py_uploads_created_total") == 3


def test_uploads_finished_counts_an_upload_when_its_last_byte_lands(server: LiveServer) -> None:
    url = create(server.endpoint, 10)
    before = scrape(server)
    patch(url, 0, b"12345")
    halfway = scrape(server)
    patch(url, 5, b"67890")
    after = scrape(server)

    assert moved(before, halfway, "tusd_py_uploads_finished_total") == 0
    assert moved(halfway, after, "tusd_py_uploads_finished_total") == 1


def test_uploads_terminated_counts_each_delete(server: LiveServer) -> None:
    urls = [create(server.endpoint, 10) for _ in range(2)]
    before = scrape(server)
    for url in urls:
        http.delete(url, headers=TUS)
    http.delete(urls[0], headers=TUS)  # already gone: nothing more is terminated
    after = scrape(server)

    assert moved(before, after, "tusd_py_uploads_terminated_total") == 2


def test_open_connections_counts_a_request_in_progress(server: LiveServer) -> None:
    idle = value(scrape(server), "tusd_py_open_connections")  # the scrape itself is one
    url = create(server.endpoint, 1000)
    request = start_patch(server, url, 0, 1000)
    request.send(b"x" * 100)
    wait_until(lambda: stored_size(server, url) == 100)

    assert value(scrape(server), "tusd_py_open_connections") == idle + 1
    request.send(b"x" * 900)
    assert request.response()[0] == 204
    request.close()
    # The count drops just after the answer is sent.
    wait_until(lambda: value(scrape(server), "tusd_py_open_connections") == idle)
