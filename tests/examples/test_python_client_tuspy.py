"""The tuspy example uploads a file to a live server, and a second run finds the upload instead of repeating it."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from tests.interop.stored_upload import StoredUpload, sha256
from tests.support.live_server import LiveServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python_client_tuspy.py"


def run_example(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )


def test_the_tuspy_example_uploads_and_resumes_from_its_store(shared_live_server: LiveServer, tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_bytes(random.Random(5).randbytes(300_000))
    args = [str(source), "--endpoint", shared_live_server.endpoint, "--chunk-size", "100000"]

    first = run_example(tmp_path, *args)
    assert first.returncode == 0, first.stderr
    url = first.stdout.strip()
    assert url.startswith(shared_live_server.endpoint)
    assert "300000 of 300000 bytes (100%)" in first.stderr
    assert "server says: completed, 300000 of 300000 bytes" in first.stderr
    stored = StoredUpload.load(shared_live_server.upload_dir, url)
    assert stored.sha256 == sha256(source.read_bytes())
    assert stored.metadata == {"filename": "notes.txt", "filetype": "text/plain"}
    assert (tmp_path / "tuspy-urls.json").exists()

    second = run_example(tmp_path, *args)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == url  # found in the store: nothing sent again
    assert "resuming at 300000 of 300000 bytes" in second.stderr
