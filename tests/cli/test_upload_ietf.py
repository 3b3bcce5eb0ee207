"""`tusd-py upload --protocol ietf`: the IETF draft at its current interop version, resumed after a kill."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.cli.conftest import Background, MiB, json_lines, make_file, recorded_url, run_cli, stored_bytes
from tests.interop.stored_upload import StoredUpload, sha256
from tests.support.live_server import LiveServer
from tests.support.waiting import wait_until

SLOW = ["--chunk-size", "64KiB", "--limit-rate", "512KiB"]


def upload_command(server: LiveServer, store: Path, source: Path, *extra: str) -> list[str]:
    return ["upload", str(source), "--endpoint", server.endpoint, "--store", str(store), "--json", "--protocol", "ietf",
            *extra]  # fmt: skip


def test_an_ietf_upload_is_killed_and_resumed(
    shared_live_server: LiveServer, tmp_path: Path, background: Background
) -> None:
    source, store = make_file(tmp_path, "draft.bin", 2 * MiB), tmp_path / "store.json"
    first = background.start(*upload_command(shared_live_server, store, source, *SLOW))
    url = recorded_url(store)
    wait_until(lambda: stored_bytes(shared_live_server.upload_dir, url) > 0, timeout=30)
    first.process.kill()
    assert first.wait() == -signal.SIGKILL
    kept = stored_bytes(shared_live_server.upload_dir, url)
    assert 0 < kept < 2 * MiB

    second = run_cli(tmp_path, *upload_command(shared_live_server, store, source))
    assert second.returncode == 0, second.stderr
    (line,) = json_lines(second.stdout)
    assert line["url"] == url and line["resumed_from"] >= kept
    stored = StoredUpload.load(shared_live_server.upload_dir, url)
    assert stored.sha256 == sha256(source.read_bytes())
    info = json.loads((shared_live_server.upload_dir / f"{stored.id}.info").read_text())
    assert info["TusdPy"]["protocol"] == "ietf-draft-8"
    assert info["TusdPy"].get("completed_at") is not None


def test_ietf_refuses_parallel_parts(tmp_path: Path) -> None:
    source = make_file(tmp_path, "x.bin", 10)
    result = run_cli(tmp_path, "upload", str(source), "--endpoint", "http://127.0.0.1:9/files/", "--protocol", "ietf",
                     "--parallel", "2")  # fmt: skip
    assert result.returncode != 0
    assert "--protocol ietf" in result.stderr
