"""SIGTERM during a PATCH: the PATCH keeps what it received and is answered 503 with Upload-Offset, the process
exits within --shutdown-timeout (even with a download that cannot finish), and a restarted server resumes the
upload without losing a byte."""

from __future__ import annotations

from pathlib import Path

from tests.lifecycle.live import http, offset_of, patch
from tests.ops.conftest import (
    PATCH_DATA,
    PATCH_SENT,
    POST_SENT,
    SHUTDOWN_TIMEOUT,
    Stopped,
    seconds_to_stop,
    stuck_download,
)
from tests.support.live_server import LiveServer
from tests.support.tus import sha256

SLACK = 1.5  # process teardown on a busy machine


def test_the_in_flight_patch_is_answered_503(stopped_mid_patch: Stopped) -> None:
    assert stopped_mid_patch.status == 503, stopped_mid_patch.body
    assert b'"server_shutting_down"' in stopped_mid_patch.body


def test_the_503_carries_the_offset_of_the_bytes_received(stopped_mid_patch: Stopped) -> None:
    assert stopped_mid_patch.headers["upload-offset"] == str(PATCH_SENT)


def test_an_in_flight_creation_with_upload_is_answered_503_with_the_location_to_resume(
    stopped_mid_patch: Stopped,
) -> None:
    status, headers, body = stopped_mid_patch.creation

    assert (status, headers.get("upload-offset")) == (503, str(POST_SENT)), body
    # Without Location the client cannot find the bytes it sent, and must start over.
    assert headers.get("location", "").endswith("/files/" + stopped_mid_patch.created_id), headers


def test_the_process_exits_within_the_shutdown_timeout(stopped_mid_patch: Stopped) -> None:
    assert stopped_mid_patch.server.process is not None
    assert stopped_mid_patch.server.process.poll() is not None
    assert stopped_mid_patch.seconds_to_exit < SHUTDOWN_TIMEOUT + SLACK


def test_the_data_file_holds_exactly_the_bytes_sent(stopped_mid_patch: Stopped) -> None:
    assert stopped_mid_patch.stored_after_exit == PATCH_DATA[:PATCH_SENT]


def test_a_restarted_server_resumes_the_upload_without_losing_a_byte(stopped_mid_patch: Stopped) -> None:
    server, url = stopped_mid_patch.server, stopped_mid_patch.url
    server.start()
    try:
        offset = offset_of(url)

        response = patch(url, offset, PATCH_DATA[offset:])

        assert (offset, response.status_code) == (PATCH_SENT, 204)
        assert sha256(http.get(url).content) == sha256(PATCH_DATA)
    finally:
        server.stop()


def test_a_shutdown_timeout_under_a_second_is_honoured(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "uploads", tmp_path / "server.log", "--shutdown-timeout", "500ms")
    server.upload_dir.mkdir()
    server.start()
    try:
        download = stuck_download(server)

        assert seconds_to_stop(server, give_up_after=2.5) < 0.5 + SLACK
        download.close()
    finally:
        server.kill()
