"""Interrupted uploads resume: after SIGKILL, Ctrl-C (exit 130) or SIGTERM (143), and across a server crash."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.cli.conftest import Background, MiB, json_lines, make_file, recorded_url, run_cli, stored_bytes
from tests.interop.stored_upload import StoredUpload, sha256
from tests.support.live_server import LiveServer
from tests.support.waiting import wait_until

SLOW = ["--chunk-size", "64KiB", "--limit-rate", "512KiB"]  # ~4 s for 2 MiB: plenty of time to stop it midway


def upload_command(server: LiveServer, store: Path, source: Path, *extra: str) -> list[str]:
    return ["upload", str(source), "--endpoint", server.endpoint, "--store", str(store), "--json", *extra]


@pytest.mark.parametrize("protocol", ["tus", "ietf"])
def test_a_killed_upload_resumes_from_the_servers_offset(
    shared_live_server: LiveServer, tmp_path: Path, background: Background, protocol: str
) -> None:
    source, store = make_file(tmp_path, "killed.bin", 2 * MiB), tmp_path / "store.json"
    first = background.start(*upload_command(shared_live_server, store, source, *SLOW, "--protocol", protocol))
    url = recorded_url(store)
    wait_until(lambda: stored_bytes(shared_live_server.upload_dir, url) > 0)
    first.process.kill()
    assert first.wait() == -signal.SIGKILL
    kept = stored_bytes(shared_live_server.upload_dir, url)
    assert 0 < kept < 2 * MiB

    second = run_cli(tmp_path, *upload_command(shared_live_server, store, source, "--protocol", protocol))
    assert second.returncode == 0, second.stderr
    (line,) = json_lines(second.stdout)
    assert line["url"] == url  # the same upload, continued
    assert line["resumed_from"] >= kept and line["bytes_sent"] == 2 * MiB - line["resumed_from"]
    stored = StoredUpload.load(shared_live_server.upload_dir, url)
    assert stored.sha256 == sha256(source.read_bytes())
    assert stored.info["TusdPy"].get("protocol", "tus") == {"tus": "tus", "ietf": "ietf-draft-8"}[protocol]
    assert '"uploads": {}' in store.read_text()


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_exits_with_its_code_and_the_next_run_resumes(
    shared_live_server: LiveServer, tmp_path: Path, background: Background, stop: signal.Signals, code: int
) -> None:
    source, store = make_file(tmp_path, "interrupted.bin", 2 * MiB), tmp_path / "store.json"
    first = background.start(*upload_command(shared_live_server, store, source, *SLOW))
    url = recorded_url(store)
    wait_until(lambda: stored_bytes(shared_live_server.upload_dir, url) > 0)
    first.process.send_signal(stop)
    assert first.wait() == code
    (line,) = json_lines(first.stdout)
    assert (line["status"], line["url"]) == ("interrupted", url)
    assert 0 < line["bytes_sent"] < 2 * MiB
    assert "run the same command again to resume" in "\n".join(first.errors)

    second = run_cli(tmp_path, *upload_command(shared_live_server, store, source))
    assert second.returncode == 0, second.stderr
    (line,) = json_lines(second.stdout)
    assert line["url"] == url and line["resumed_from"] > 0
    assert line["bytes_sent"] == 2 * MiB - line["resumed_from"]
    assert StoredUpload.load(shared_live_server.upload_dir, url).sha256 == sha256(source.read_bytes())


def test_an_upload_rides_out_a_server_crash_and_restart(
    live_server: LiveServer, tmp_path: Path, background: Background
) -> None:
    source, store = make_file(tmp_path, "restart.bin", MiB), tmp_path / "store.json"
    running = background.start(*upload_command(live_server, store, source, *SLOW))
    url = recorded_url(store)
    wait_until(lambda: stored_bytes(live_server.upload_dir, url) > 0)
    live_server.kill()  # SIGKILL: the PATCH in flight breaks off and what the server had not written is lost
    live_server.start()  # a new process on the same port
    assert stored_bytes(live_server.upload_dir, url) < MiB  # the restart really came mid-upload
    assert running.wait() == 0, running.errors
    (line,) = json_lines(running.stdout)
    assert line["status"] == "uploaded" and line["url"] == url
    assert any("retrying in" in message for message in running.errors)
    assert StoredUpload.load(live_server.upload_dir, url).sha256 == sha256(source.read_bytes())
