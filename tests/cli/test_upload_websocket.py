"""`tusd-py upload --transport websocket`: the bytes go over the server's upload socket, with the HTTP transport's
progress bar, resume from the store, retries across a server restart, and exit codes."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import Background, MiB, json_lines, make_file, recorded_url, run_cli, stored_bytes
from tests.interop.stored_upload import StoredUpload, sha256
from tests.support.live_server import LiveServer, free_port, start_live
from tests.support.tus import offset_of
from tests.support.waiting import wait_until
from tusd_py.cli.main import main

SLOW = ["--limit-rate", "512KiB"]  # ~4 s for 2 MiB: plenty of time to stop it midway
SOCKET_LOG_LINE = " WEBSOCKET /files/upload "


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of this module's own, so its log and byte counter tell what these tests sent."""
    server = start_live(tmp_path_factory.mktemp("ws-upload-server"))
    yield server
    server.stop()


def upload_command(server: LiveServer, store: Path, *sources: Path, transport: str = "websocket") -> list[str]:
    files = [str(source) for source in sources]
    return ["upload", *files, "--endpoint", server.endpoint, "--store", str(store), "--transport", transport]


def bytes_stored(server: LiveServer) -> int:
    """The server's own count of upload bytes it stored, from /metrics."""
    found = re.search(r"^tusd_py_bytes_received_total (\S+)$", httpx.get(f"{server.base_url}/metrics").text, re.M)
    assert found
    return int(float(found.group(1)))


def sockets_ended(server: LiveServer) -> int:
    return server.log().count(SOCKET_LOG_LINE)


def test_files_go_up_over_the_socket_intact_with_progress_bars(server: LiveServer, tmp_path: Path) -> None:
    sources = [make_file(tmp_path, "one.bin", 3 * MiB, 1), make_file(tmp_path, "two.bin", 70_000, 2)]
    sources.append(make_file(tmp_path, "empty.bin", 0))
    patches_before, sockets_before = server.log().count(" PATCH /files/"), sockets_ended(server)
    result = run_cli(tmp_path, *upload_command(server, tmp_path / "store.json", *sources), env={"COLUMNS": "160"})
    assert result.returncode == 0, result.stderr
    finished = {line.split()[1]: line.split()[-1] for line in result.stdout.splitlines() if line.startswith("✓")}
    assert set(finished) == {str(source) for source in sources}
    for source in sources:
        assert StoredUpload.load(server.upload_dir, finished[str(source)]).sha256 == sha256(source.read_bytes())
    bars = {line.split()[0]: line for line in result.stdout.splitlines() if "━" in line}  # drawn once, off a tty
    assert "100% 3.1/3.1 MiB" in bars["total"] and "done" in bars["one.bin"]
    wait_until(lambda: sockets_ended(server) == sockets_before + 3, timeout=30)
    assert server.log().count(" PATCH /files/") == patches_before  # not a byte by PATCH


def test_checksummed_chunks_go_up_as_verified_segments(server: LiveServer, tmp_path: Path) -> None:
    source = make_file(tmp_path, "checked.bin", MiB + 7)
    result = run_cli(
        tmp_path, *upload_command(server, tmp_path / "store.json", source),
        "--checksum", "sha256", "--chunk-size", "100KiB", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (line,) = json_lines(result.stdout)
    assert StoredUpload.load(server.upload_dir, line["url"]).sha256 == sha256(source.read_bytes())


def test_a_killed_upload_resumes_sending_only_what_the_server_lacks(
    server: LiveServer, tmp_path: Path, background: Background
) -> None:
    size = 2 * MiB
    source, store = make_file(tmp_path, "killed.bin", size), tmp_path / "store.json"
    first = background.start(*upload_command(server, store, source), "--json", *SLOW)
    url = recorded_url(store)
    wait_until(lambda: stored_bytes(server.upload_dir, url) > 0, timeout=30)
    first.process.kill()
    assert first.wait() == -signal.SIGKILL
    # A HEAD takes the upload's lock, so the dead socket's session has ended and counted what it stored.
    kept = offset_of(url)
    counted_before = bytes_stored(server)
    assert 0 < kept < size

    second = run_cli(tmp_path, *upload_command(server, store, source), "--json")
    assert second.returncode == 0, second.stderr
    (line,) = json_lines(second.stdout)
    assert (line["url"], line["resumed_from"], line["bytes_sent"]) == (url, kept, size - kept)
    assert bytes_stored(server) - counted_before == size - kept  # the server received only the rest
    assert StoredUpload.load(server.upload_dir, url).sha256 == sha256(source.read_bytes())
    assert '"uploads": {}' in store.read_text()


def test_an_upload_rides_out_a_server_crash_and_restart(
    live_server: LiveServer, tmp_path: Path, background: Background
) -> None:
    source, store = make_file(tmp_path, "restart.bin", MiB), tmp_path / "store.json"
    running = background.start(*upload_command(live_server, store, source), "--json", *SLOW)
    url = recorded_url(store)
    wait_until(lambda: stored_bytes(live_server.upload_dir, url) > 0, timeout=30)
    live_server.kill()  # SIGKILL: the socket breaks off
    live_server.start()  # a new process on the same port
    assert stored_bytes(live_server.upload_dir, url) < MiB  # the restart really came mid-upload
    assert running.wait() == 0, running.errors
    (line,) = json_lines(running.stdout)
    assert line["status"] == "uploaded" and line["url"] == url
    assert any("upload socket" in message and "retrying in" in message for message in running.errors)
    assert StoredUpload.load(live_server.upload_dir, url).sha256 == sha256(source.read_bytes())


# -- the same failures end with the same exit codes over either transport ---------------------------------------


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """API keys required, uploads up to 1 MiB."""
    root = tmp_path_factory.mktemp("strict-server")
    server = start_live(root, "--auth", "api-key", "--max-size", "1MiB", env={"TUSD_PY_API_KEYS": "k-alice:alice"})
    yield server
    server.stop()


def exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> dict[str, tuple[int, str]]:
    """Per transport, run in this process: the exit code and the JSON result's error (kind and message)."""
    codes, messages = {}, []
    for transport in ("http", "websocket"):
        code = main([*args, "--transport", transport, "--store", str(tmp_path / "store.json"), "--json"])
        (line,) = json_lines(capsys.readouterr().out)
        codes[transport] = (code, line["error"]["kind"])
        messages.append(f"{transport}: {line['error']['message']}")
    print("\n".join(messages))  # shown when a test fails
    return codes


def test_refused_credentials_exit_1_over_either_transport(
    strict_server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_file(tmp_path, "theirs.bin", 500)
    codes = exit_codes(
        capsys, tmp_path, "upload", str(source), "--endpoint", strict_server.endpoint, "--api-key", "bad"
    )
    assert codes == {"http": (1, "UploadRejected"), "websocket": (1, "UploadRejected")}


def test_a_file_too_large_exits_1_over_either_transport(
    strict_server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_file(tmp_path, "huge.bin", MiB + 1)
    codes = exit_codes(
        capsys, tmp_path, "upload", str(source), "--endpoint", strict_server.endpoint, "--api-key", "k-alice"
    )
    assert codes == {"http": (1, "UploadRejected"), "websocket": (1, "UploadRejected")}


def test_a_server_that_is_not_there_exits_3_over_either_transport(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_file(tmp_path, "data.bin", 10)
    endpoint = f"http://127.0.0.1:{free_port()}/files/"
    codes = exit_codes(capsys, tmp_path, "upload", str(source), "--endpoint", endpoint, "--retries", "1")
    assert codes == {"http": (3, "RetriesExhausted"), "websocket": (3, "RetriesExhausted")}


@pytest.mark.parametrize("transport", ["http", "websocket"])
def test_a_server_gone_mid_upload_exits_3_after_the_retries(
    tmp_path: Path, background: Background, transport: str
) -> None:
    server = start_live(tmp_path / "server")
    try:
        source, store = make_file(tmp_path, "gone.bin", MiB), tmp_path / "store.json"
        running = background.start(
            *upload_command(server, store, source, transport=transport), "--json", "--retries", "1", *SLOW
        )
        url = recorded_url(store)
        wait_until(lambda: stored_bytes(server.upload_dir, url) > 0, timeout=30)
        server.kill()
        assert running.wait() == 3, running.errors
        (line,) = json_lines(running.stdout)
        assert (line["status"], line["error"]["kind"]) == ("failed", "RetriesExhausted")
    finally:
        server.stop()


def test_parallel_parts_need_the_http_transport(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = make_file(tmp_path, "data.bin", 10)
    endpoint = f"http://127.0.0.1:{free_port()}/files/"

    code = main(["upload", str(source), "--endpoint", endpoint, "--transport", "websocket", "--parallel", "2"])

    assert code == 2
    assert "--parallel sends partial uploads over HTTP: it needs --transport http" in capsys.readouterr().err
