"""The upload-socket example sends a file to a live server, and finishes an upload begun over HTTP with --resume."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.live_server import LiveServer
from tests.support.tus import create, patch, payload, sha256, upload_id

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "websocket_upload.py"


def run_example(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )


def socket_endpoint(server: LiveServer) -> str:
    return server.endpoint.replace("http://", "ws://") + "upload"


def test_the_example_uploads_a_file_over_the_socket(shared_live_server: LiveServer, tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_bytes(payload(9 * 2**20, seed=41))

    done = run_example(tmp_path, str(source), "--endpoint", socket_endpoint(shared_live_server))

    assert done.returncode == 0, done.stderr
    url = done.stdout.strip()
    assert url.startswith(shared_live_server.endpoint)
    assert "stored 9437184 of 9437184 bytes (100%)" in done.stderr
    assert "server says: completed, 9437184 bytes, text/plain" in done.stderr
    assert sha256((shared_live_server.upload_dir / upload_id(url)).read_bytes()) == sha256(source.read_bytes())


def test_the_example_resumes_an_upload_begun_over_http(shared_live_server: LiveServer, tmp_path: Path) -> None:
    data = payload(500_000, seed=42)
    source = tmp_path / "half.bin"
    source.write_bytes(data)
    url = create(shared_live_server.endpoint, len(data))
    assert patch(url, 0, data[:200_000]).status_code == 204

    done = run_example(
        tmp_path, str(source), "--endpoint", socket_endpoint(shared_live_server), "--resume", upload_id(url)
    )

    assert done.returncode == 0, done.stderr
    assert f"resumed: {url} at 200000 of 500000 bytes" in done.stderr
    assert (shared_live_server.upload_dir / upload_id(url)).read_bytes() == data


def test_the_example_reports_a_refusal_with_exit_code_1(shared_live_server: LiveServer, tmp_path: Path) -> None:
    source = tmp_path / "x.bin"
    source.write_bytes(b"x")

    done = run_example(tmp_path, str(source), "--endpoint", socket_endpoint(shared_live_server), "--resume", "0" * 32)

    assert done.returncode == 1
    assert "upload failed: upload_not_found" in done.stderr
