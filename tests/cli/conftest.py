"""Running the `tusd-py` commands as a user would: real processes, real servers, real signals."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.live_server import free_port
from tests.support.programs import require_path, require_program
from tests.support.waiting import wait_until

MiB = 2**20
NODE_DIR = Path(__file__).resolve().parents[1] / "interop" / "node"


def make_file(directory: Path, name: str, size: int, seed: int = 11) -> Path:
    path = directory / name
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def cli_env(tmp_path: Path) -> dict[str, str]:
    """No TUSD_PY_* from outside, and a cache directory of the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUSD_PY_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return env


def run_cli(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tusd_py", *args],
        capture_output=True, text=True, timeout=timeout, env={**cli_env(tmp_path), **(env or {})},
    )  # fmt: skip


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


class RunningCommand:
    """A `tusd-py` process in the background whose output lines are collected as they come."""

    def __init__(self, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tusd_py", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**cli_env(tmp_path), **(env or {})},
        )  # fmt: skip
        self.lines: list[str] = []
        self.errors: list[str] = []
        self._readers = [
            threading.Thread(target=self._collect, args=(self.process.stdout, self.lines), daemon=True),
            threading.Thread(target=self._collect, args=(self.process.stderr, self.errors), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _collect(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    def wait(self, timeout: float = 60) -> int:
        code = self.process.wait(timeout)
        for reader in self._readers:
            reader.join(5)
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    @property
    def stdout(self) -> str:
        return "\n".join(self.lines)


class Background:
    """Starts background commands for a test and kills whatever still runs at its end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[RunningCommand] = []

    def start(self, *args: str, env: dict[str, str] | None = None) -> RunningCommand:
        command = RunningCommand(self.tmp_path, *args, env=env)
        self.started.append(command)
        return command


@pytest.fixture
def background(tmp_path: Path) -> Iterator[Background]:
    commands = Background(tmp_path)
    yield commands
    for command in commands.started:
        command.stop()


def recorded_url(store: Path, timeout: float = 20) -> str:
    """The upload URL a running `tusd-py upload` recorded in its store (waiting until it did)."""

    def first_url() -> str | None:
        try:
            uploads = json.loads(store.read_text())["uploads"]
        except (FileNotFoundError, ValueError, KeyError):
            return None
        return next((entry["urls"][0] for entry in uploads.values()), None)

    url = wait_until(first_url, timeout=timeout)
    assert url is not None
    return url


def stored_bytes(upload_dir: Path, url: str) -> int:
    """What the server holds of an upload, read from its data file (the offset, in both servers' file stores).
    Tests wait on this rather than on HEAD: a HEAD takes the upload's lock and would end the PATCH in flight."""
    path = upload_dir / url.rstrip("/").rsplit("/", 1)[-1]
    return path.stat().st_size if path.exists() else 0


class NodeTusServer:
    """@tus/server with its file store, under node: another tus 1.0 server to upload to."""

    def __init__(self, directory: Path) -> None:
        node = require_program("node", "@tus/server runs under node for the client interop tests")
        installed = NODE_DIR / "node_modules" / "@tus" / "server"
        require_path(installed, "install it with `npm ci --prefix tests/interop/node` (make test does)")
        self.directory = directory
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}/files/"
        self.process = subprocess.Popen(
            [node, str(NODE_DIR / "tus_node_server.mjs"), "--port", str(self.port), "--dir", str(directory)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert json.loads(line) == {"listening": self.endpoint}, line

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def node_tus_server(tmp_path: Path) -> Iterator[NodeTusServer]:
    directory = tmp_path / "node-uploads"
    directory.mkdir()
    server = NodeTusServer(directory)
    yield server
    server.stop()
