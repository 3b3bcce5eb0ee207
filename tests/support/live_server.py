"""A real `tusd-py serve` process on a free loopback port, for tests that need real sockets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """One server process. `endpoint` is the tus creation URL (base path included)."""

    def __init__(
        self,
        upload_dir: Path,
        log_path: Path,
        *args: str,
        base_path: str = "/files/",
        env: dict[str, str] | None = None,
        module: str = "tusd_py",
    ) -> None:
        self.upload_dir = upload_dir
        self.log_path = log_path
        self.args = list(args)
        self.base_path = base_path
        self.env = env or {}
        self.module = module  # run as `python -m <module> serve …`: a test may wrap the real command
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return self.base_url + self.base_path

    @property
    def storage(self) -> Any:
        """Where its uploads are, for `StoredUpload.load`: the upload directory (an S3 server: its bucket)."""
        return self.upload_dir

    def stored_names(self) -> list[str]:
        """What its store holds: the names in the upload directory (an S3 server: the keys in its bucket)."""
        return sorted(path.name for path in self.upload_dir.iterdir())

    def start(self, timeout: float = 20.0) -> None:
        command = [
            sys.executable,
            "-m",
            self.module,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--upload-dir",
            str(self.upload_dir),
            "--base-path",
            self.base_path,
            *self.args,
        ]
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env}
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                response = httpx.options(self.endpoint, timeout=1.0)
                if response.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"server did not come up in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait: the graceful path."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self) -> None:
        """SIGKILL: the server dies without a chance to clean up."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


def start_live(root: Path, *args: str, env: dict[str, str] | None = None) -> LiveServer:
    """A started server keeping its uploads in `root/uploads` and its log in `root/server.log`."""
    server = LiveServer(root / "uploads", root / "server.log", *args, env=env)
    server.upload_dir.mkdir(parents=True)
    server.start()
    return server
