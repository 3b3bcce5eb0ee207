"""/healthz (the process answers) and /readyz (the upload directory is usable) on a real server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.lifecycle.live import http
from tests.support.live_server import LiveServer
from tests.support.waiting import wait_until


@pytest.fixture
def server(ops_server: LiveServer) -> Iterator[LiveServer]:
    """The shared server, its upload directory put back as a directory after each test."""
    yield ops_server
    if not ops_server.upload_dir.is_dir():
        ops_server.upload_dir.unlink(missing_ok=True)
        ops_server.upload_dir.mkdir()


def readiness(server: LiveServer) -> int:
    return http.get(server.base_url + "/readyz").status_code


def replace_upload_dir_with_a_file(server: LiveServer) -> None:
    shutil.rmtree(server.upload_dir)
    server.upload_dir.write_text("not a directory")


def test_healthz_answers_200(server: LiveServer) -> None:
    response = http.get(server.base_url + "/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_answers_200_while_the_upload_dir_is_usable(server: LiveServer) -> None:
    response = http.get(server.base_url + "/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_readyz_answers_503_when_the_upload_dir_is_replaced_by_a_file(server: LiveServer) -> None:
    replace_upload_dir_with_a_file(server)

    response = http.get(server.base_url + "/readyz")

    assert response.status_code == 503
    assert response.json()["error_code"] == "not_ready"


def test_readyz_answers_503_when_the_upload_dir_is_deleted(server: LiveServer) -> None:
    shutil.rmtree(server.upload_dir)

    response = http.get(server.base_url + "/readyz")

    assert response.status_code == 503
    assert response.json()["error_code"] == "not_ready"


def test_readyz_answers_200_again_once_the_upload_dir_is_back(server: LiveServer) -> None:
    replace_upload_dir_with_a_file(server)
    wait_until(lambda: readiness(server) == 503)
    server.upload_dir.unlink()
    server.upload_dir.mkdir()

    wait_until(lambda: readiness(server) == 200, timeout=5)


def test_healthz_stays_200_while_the_upload_dir_is_unusable(server: LiveServer) -> None:
    shutil.rmtree(server.upload_dir)

    assert http.get(server.base_url + "/healthz").status_code == 200
