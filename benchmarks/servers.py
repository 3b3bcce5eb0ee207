"""The servers under test: how to start each on a free loopback port, its PID for RSS, and how to stop it."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.clients import BenchError
from benchmarks.s3 import SERVICE as S3

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = ROOT / "tests" / "interop" / "node"
PEERS_VENV = ROOT / "benchmarks" / ".venv-peers"
PEERS_APPS = ROOT / "benchmarks" / "peers"
BASE_PATH = "/files/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ServerKind:
    """One contender: a key for the JSON, a title for the table, and how to run it.

    `store` groups the contenders: those on local files and those on S3 are compared within their group."""

    key: str
    title: str
    store: str = "file"

    def missing(self) -> str | None:
        """Why this server cannot run here, or None when it can."""
        raise NotImplementedError

    def command(self, port: int, upload_dir: Path, extra: list[str]) -> list[str]:
        raise NotImplementedError

    def environment(self, upload_dir: Path) -> dict[str, str]:
        return {}

    def provision(self, upload_dir: Path) -> None:
        """Make the storage a fresh server starts on (its upload directory exists already)."""

    def clear(self, upload_dir: Path) -> None:
        """Drop what the last measurement stored, keeping each server's own dot-directories.

        Then sync: otherwise the file system is still writing back thousands of deletions (and the data of the
        files they were) while the next server is measured, and that server pays for this one."""
        for entry in upload_dir.iterdir():
            if entry.is_file() and not entry.name.startswith("."):
                entry.unlink(missing_ok=True)
        os.sync()


class TusdPy(ServerKind):
    def missing(self) -> str | None:
        return None

    def command(self, port: int, upload_dir: Path, extra: list[str]) -> list[str]:
        venv_script = ROOT / ".venv" / "bin" / "tusd-py"
        program = [str(venv_script)] if venv_script.exists() else [sys.executable, "-m", "tusd_py"]
        return [
            *program, "serve", "--host", "127.0.0.1", "--port", str(port), "--upload-dir", str(upload_dir),
            "--base-path", BASE_PATH, "--log-level", "warning", *extra,
        ]  # fmt: skip


class TusNode(ServerKind):
    def missing(self) -> str | None:
        if shutil.which("node") is None:
            return "node is not installed"
        if not (NODE_DIR / "node_modules" / "@tus" / "server").is_dir():
            return f"@tus/server is not installed (run npm ci in {NODE_DIR.relative_to(ROOT)})"
        return None

    def command(self, port: int, upload_dir: Path, extra: list[str]) -> list[str]:
        script = NODE_DIR / "tus_node_server.mjs"
        return ["node", str(script), "--port", str(port), "--dir", str(upload_dir), "--path", BASE_PATH, *extra]


class TusPyServer(ServerKind):
    def missing(self) -> str | None:
        if not (PEERS_VENV / "bin" / "python").exists():
            return f"tuspyserver's venv {PEERS_VENV.relative_to(ROOT)} is missing (make bench creates it)"
        return None

    def command(self, port: int, upload_dir: Path, extra: list[str]) -> list[str]:
        return [
            str(PEERS_VENV / "bin" / "python"), "-m", "uvicorn", "tuspyserver_app:app",
            "--app-dir", str(PEERS_APPS), "--host", "127.0.0.1", "--port", str(port),
            "--no-access-log", "--log-level", "warning", *extra,
        ]  # fmt: skip

    def environment(self, upload_dir: Path) -> dict[str, str]:
        return {"TUSPYSERVER_FILES_DIR": str(upload_dir)}


class RawSink(ServerKind):
    def missing(self) -> str | None:
        return None

    def command(self, port: int, upload_dir: Path, extra: list[str]) -> list[str]:
        return [sys.executable, "-m", "benchmarks.sink", "--port", str(port), "--dir", str(upload_dir), *extra]


class OnS3(ServerKind):
    """A contender that keeps its uploads in S3: the run's SeaweedFS, a bucket named like its upload directory
    (which then only holds its log and local scratch files)."""

    def missing(self) -> str | None:
        return S3.failure

    def bucket(self, upload_dir: Path) -> str:
        return upload_dir.name

    def provision(self, upload_dir: Path) -> None:
        S3.running().create_bucket(self.bucket(upload_dir))

    def clear(self, upload_dir: Path) -> None:
        S3.empty(self.bucket(upload_dir))

    def environment(self, upload_dir: Path) -> dict[str, str]:
        return {**S3.running().env(), "TMPDIR": str(upload_dir)}

    def endpoint(self) -> str:
        return S3.running().endpoint


class TusdPyS3(OnS3):
    def missing(self) -> str | None:
        if importlib.util.find_spec("tusd_py.storage.s3") is None:
            return "this tusd_py has no S3 store"
        return super().missing()

    def command(self, port: int, upload_dir: Path, extra: list[str]) -> list[str]:
        s3 = ["--s3-bucket", self.bucket(upload_dir), "--s3-endpoint", self.endpoint()]
        return TUSD_PY.command(port, upload_dir, [*s3, *extra])


class TusNodeS3(OnS3):
    def missing(self) -> str | None:
        if not (NODE_DIR / "node_modules" / "@tus" / "s3-store").is_dir():
            return f"@tus/s3-store is not installed (run npm ci in {NODE_DIR.relative_to(ROOT)})"
        return TUS_NODE.missing() or super().missing()

    def command(self, port: int, upload_dir: Path, extra: list[str]) -> list[str]:
        script = NODE_DIR / "tus_node_server.mjs"
        return [
            "node", str(script), "--port", str(port), "--path", BASE_PATH,
            "--s3-bucket", self.bucket(upload_dir), "--s3-endpoint", self.endpoint(), *extra,
        ]  # fmt: skip


class RawS3Put(OnS3):
    def missing(self) -> str | None:
        if importlib.util.find_spec("aiobotocore") is None:
            return "aiobotocore is not installed"
        return super().missing()

    def command(self, port: int, upload_dir: Path, extra: list[str]) -> list[str]:
        return [
            sys.executable, "-m", "benchmarks.s3_put", "--port", str(port), "--bucket", self.bucket(upload_dir),
            "--endpoint", self.endpoint(), *extra,
        ]  # fmt: skip


TUSD_PY = TusdPy("tusd_py", "tusd_py")
TUS_NODE = TusNode("tus-node", "@tus/server")
TUSPYSERVER = TusPyServer("tuspyserver", "tuspyserver")
SINK = RawSink("sink", "raw sink")
# Keys double as bucket names (with the port): lower-case letters, digits and hyphens only.
TUSD_PY_S3 = TusdPyS3("tusd-py-s3", "tusd_py S3", "s3")
TUS_NODE_S3 = TusNodeS3("tus-node-s3", "@tus/s3-store", "s3")
S3_PUT = RawS3Put("s3-put", "raw S3 put", "s3")
ALL_SERVERS = (TUSD_PY, TUS_NODE, TUSPYSERVER, SINK, TUSD_PY_S3, TUS_NODE_S3, S3_PUT)
PEERS = (TUS_NODE, TUSPYSERVER, TUS_NODE_S3)
S3_SERVERS = (TUSD_PY_S3, TUS_NODE_S3, S3_PUT)


@dataclass
class RunningServer:
    kind: ServerKind
    port: int
    upload_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    extra: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        """The server process itself (each contender runs as one process: no shell in between)."""
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}{BASE_PATH}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to its process group, then SIGKILL for anything left in it."""
        if self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        _signal_group(self.process.pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait()

    def clear_uploads(self) -> None:
        self.kind.clear(self.upload_dir)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def start_server(
    kind: ServerKind, workdir: Path, extra: list[str] | None = None, timeout: float = 30.0
) -> RunningServer:
    """Start `kind` in its own process group with a fresh upload directory; return once it accepts connections."""
    port = free_port()
    upload_dir = Path(os.path.realpath(workdir)) / f"{kind.key}-{port}"
    upload_dir.mkdir(parents=True)
    kind.provision(upload_dir)
    log_path = upload_dir.with_name(upload_dir.name + ".log")
    extra = extra or []
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            kind.command(port, upload_dir, extra),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            env={**os.environ, **kind.environment(upload_dir)},
            start_new_session=True,
        )
    server = RunningServer(kind, port, upload_dir, process, log_path, extra)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise BenchError(f"{kind.title} exited at start:\n{server.log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise BenchError(f"{kind.title} did not listen within {timeout}s:\n{server.log()}")
        time.sleep(0.05)
