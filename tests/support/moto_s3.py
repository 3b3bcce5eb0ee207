"""moto's standalone S3 server (`moto_server`, from `moto[server]`) on a free loopback port: a second S3 dialect.

It is a real HTTP endpoint in its own process, as SeaweedFS is; it takes any key pair, keeps everything in memory
and is gone with its process. The suite runs the S3 store's core round trips on it too, to catch what one server
lets pass and another does not.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.programs import require_program
from tests.support.s3_endpoint import S3Endpoint, free_ports


def moto_binary() -> str:
    beside = Path(sys.executable).parent / "moto_server"
    if beside.exists():
        return str(beside)
    return require_program("moto_server", "the S3 dialect tests run moto's server (pip install 'moto[server]')")


class MotoS3(S3Endpoint):
    """One `moto_server` process."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.binary = moto_binary()
        self.log_path = directory / "moto.log"
        [self.port] = free_ports(1)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, **self.env()},
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited early ({self.process.returncode}):\n{self.log()[-4000:]}")
            try:
                self.client(connect_timeout=1, read_timeout=5).list_buckets()
                return
            except Exception as error:  # not listening yet
                last = error
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto_server did not come up in {timeout}s ({last!r}):\n{self.log()[-4000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_moto(directory: Path) -> MotoS3:
    """Start moto's S3 server, skipping (failing under TUSD_PY_REQUIRE_ALL) without `moto_server`."""
    directory.mkdir(parents=True, exist_ok=True)
    server = MotoS3(directory)
    try:
        server.start()
    except RuntimeError as error:
        pytest.fail(str(error))
    return server
