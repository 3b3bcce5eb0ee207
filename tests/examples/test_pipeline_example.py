"""The pipeline example as its docstrings say to run it: `uvicorn examples.pipeline.app:app`, then
`python -m examples.pipeline.watch FILE`, which uploads the file and prints each stage until it is processed."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.pipeline.conftest import REPO, png
from tests.support.live_server import free_port
from tests.support.waiting import wait_until


@pytest.fixture
def example_app(tmp_path: Path) -> Iterator[str]:
    """`uvicorn examples.pipeline.app:app` on a free port; its endpoint."""
    port = free_port()
    log = (tmp_path / "app.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "examples.pipeline.app:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "TUSD_PY_UPLOAD_DIR": str(tmp_path / "uploads"), "TUSD_PY_PROGRESS_INTERVAL": "50ms"},
    )
    endpoint = f"http://127.0.0.1:{port}/files/"

    def up() -> bool:
        assert process.poll() is None, (tmp_path / "app.log").read_text()
        try:
            return httpx.options(endpoint).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(up, timeout=20)
        yield endpoint
    finally:
        process.terminate()
        process.wait(15)
        log.close()


def test_the_watch_script_prints_each_stage_and_the_result(example_app: str, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(png(400, 300))

    result = subprocess.run(
        [sys.executable, "-m", "examples.pipeline.watch", str(photo), "--endpoint", example_app],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("upload      " + example_app)
    stages = [line.split()[2].rstrip(":") for line in lines if line.startswith("processing")]
    assert list(dict.fromkeys(stages)) == ["digests", "inspect", "thumbnail"]
    assert any(line.startswith("completed") for line in lines)
    assert hashlib.sha256(photo.read_bytes()).hexdigest() in result.stdout
    assert '"width": 400' in result.stdout and '"height": 300' in result.stdout
    upload_id = lines[0].rsplit("/", 1)[1]
    assert (tmp_path / "uploads" / "_thumbnails" / f"{upload_id}.jpg").exists()

