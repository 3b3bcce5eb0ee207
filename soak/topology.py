"""What the soak runs against: one real redis-server, three `tusd-py serve` instances sharing one upload directory on
a small file system of the soak's own, and a hook endpoint; all on free loopback ports, all stopped at the end."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.redis_server import RedisServer
from tests.support.small_disk import PAGE, SmallDisk


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(probe: object, timeout: float, what: str) -> None:
    """Poll `probe()` until it is true; RuntimeError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not probe():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout}s")
        time.sleep(0.05)


def require(program: str, why: str) -> None:
    if shutil.which(program) is None:
        raise RuntimeError(f"{program} is not installed: {why}")


@dataclass
class ProcessFigures:
    """One instance process's resources: resident memory, open descriptors (and how many of them are its pooled
    connections to Redis), threads."""

    rss: int
    fds: int
    threads: int
    redis_sockets: int = 0

    @classmethod
    def of(cls, pid: int, redis_port: int = 0) -> ProcessFigures | None:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            fds = len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            return None
        values = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        kinds = descriptor_kinds(pid, {redis_port: "redis"}) if redis_port else {}
        return cls(int(values["VmRSS"].split()[0]) * 1024, fds, int(values["Threads"].strip()),
                   kinds.get("socket to redis", 0))

    @property
    def other_fds(self) -> int:
        return self.fds - self.redis_sockets


@dataclass
class Instance:
    """One `tusd-py serve` process on a fixed port (a restart comes back on the same one, as behind a balancer)."""

    name: str
    upload_dir: Path
    log_path: Path
    args: list[str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    started_at: float = 0.0
    baseline: ProcessFigures | None = None  # measured after warm-up (or after a restart's own warm-up)
    redis_port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return self.base_url + "/files/"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    def start(self, timeout: float = 90.0) -> None:
        command = [sys.executable, "-m", "tusd_py", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                   "--upload-dir", str(self.upload_dir), *self.args]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self.starts += 1
        self.baseline = None
        self.started_at = float("inf")  # not warmed up before it serves: no figures taken while it starts
        wait_for(self._ready, timeout, f"{self.name} answering OPTIONS")
        self.started_at = time.monotonic()  # its warm-up counts from when it serves

    def _ready(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited early; see {self.log_path}")
        try:
            return httpx.options(self.endpoint, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def signal(self, number: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(number)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait (the graceful path); SIGKILL past `timeout`. The exit status; None if it was killed."""
        if self.process is None:
            return None
        if self.process.poll() is not None:
            return self.process.returncode
        self.process.send_signal(signal.SIGCONT)  # a paused instance cannot act on SIGTERM
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def figures(self) -> ProcessFigures | None:
        pid = self.pid
        return ProcessFigures.of(pid, self.redis_port) if pid is not None else None


SERVE_ARGS = (
    "--lock-ttl", "2s",
    "--lock-timeout", "3s",
    "--network-timeout", "10s",
    "--progress-interval", "200ms",
    "--sweep-interval", "2s",
    "--shutdown-timeout", "5s",
    "--max-event-connections", "20000",
    "--max-event-connections-per-user", "20000",
    "--hooks-timeout", "1s",
    "--hooks-http-retry", "1",
    "--hooks-http-backoff", "100ms",
    "--hooks-enabled-events", "pre-create,post-create,post-receive,post-finish,post-terminate",
)


class Topology:
    """Everything the soak runs, under `root`; `start()` brings it up, `stop()` takes every part down again."""

    def __init__(self, root: Path, disk_size: int, hook_url: str, count: int = 3) -> None:
        require("redis-server", "the soak runs a real Redis")
        self.root = root
        self.redis = RedisServer(root)
        self.disk = SmallDisk(root / "uploads", disk_size - disk_size % PAGE)
        self.disk_mounted = False
        args = ["--redis-url", self.redis.url, "--hooks-http", hook_url, *SERVE_ARGS]
        self.instances = [
            Instance(f"instance-{n}", self.disk.path, root / f"instance-{n}.log", args, redis_port=self.redis.port)
            for n in range(count)
        ]

    def start(self) -> None:
        """Mount the small disk (a tmpfs: root only; else a plain directory, without the disk-full fault), start
        Redis, then the instances one after the other (started together they only slow each other)."""
        if os.geteuid() == 0:
            self.disk.mount()
            self.disk_mounted = True
        else:
            self.disk.path.mkdir(parents=True, exist_ok=True)
        self.redis.start()
        for instance in self.instances:
            instance.start()

    def stop(self) -> dict[str, int | None]:
        """Stop every instance gracefully (their exit statuses), then Redis, then unmount the disk."""
        statuses = {instance.name: instance.stop() for instance in self.instances}
        self.redis.stop()
        return statuses

    def cleanup(self) -> None:
        for instance in self.instances:
            instance.kill()
        self.redis.stop()
        self.disk.empty()
        if self.disk_mounted:
            self.disk.unmount()
            self.disk_mounted = False

    def logs(self) -> list[str]:
        return [instance.log_path.read_text(errors="replace") for instance in self.instances
                if instance.log_path.exists()]


def describe_descriptors(pid: int, names: dict[int, str]) -> str:
    """What a process's descriptors are, for a report that must explain a leak."""
    kinds = descriptor_kinds(pid, names)
    return ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())) or "gone"


def descriptor_kinds(pid: int, names: dict[int, str]) -> dict[str, int]:
    """A process's descriptors by kind: files, pipes, and TCP sockets by the peer they lead to (`names` maps local
    service ports to names: redis, hooks, the instances)."""
    kinds: dict[str, int] = {}
    peers = _tcp_peers()
    try:
        targets = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return kinds
    for target in targets:
        if target.startswith("socket:["):
            local, remote = peers.get(target[8:-1], (0, 0))
            if remote == 0:
                kind = "socket (listening or not TCP)"
            elif remote in names:
                kind = f"socket to {names[remote]}"
            elif local in names:
                kind = f"socket from a client of {names[local]}"
            else:
                kind = "socket (other)"
        elif target.startswith(("pipe:", "anon_inode:")):
            kind = target.split(":")[0] + (":" + target.split("[")[-1].rstrip("]") if "anon" in target else "")
        else:
            kind = "file"
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def _tcp_peers() -> dict[str, tuple[int, int]]:
    """Socket inode → (local port, remote port), from /proc/net/tcp and tcp6."""
    peers = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                peers[inode] = (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16))
    return peers
