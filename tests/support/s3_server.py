"""`tusd-py serve --s3-bucket`: a real server process whose uploads live in a bucket of the suite's SeaweedFS."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from tests.interop.stored_upload import S3Bucket
from tests.support.live_server import LiveServer
from tests.support.seaweedfs import SeaweedFS


class S3LiveServer(LiveServer):
    """A LiveServer on the S3 store: `storage` is its bucket; `upload_dir` only holds local scratch space."""

    def __init__(
        self, root: Path, seaweedfs: SeaweedFS, *args: str, bucket: str | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.seaweedfs = seaweedfs
        self.bucket = bucket or seaweedfs.create_bucket()
        s3 = ("--s3-bucket", self.bucket, "--s3-endpoint", seaweedfs.endpoint, "--s3-region", seaweedfs.region)
        super().__init__(root / "uploads", root / "server.log", *s3, *args, env={**seaweedfs.env(), **(env or {})})
        self.upload_dir.mkdir(parents=True, exist_ok=True)

    @functools.cached_property
    def storage(self) -> S3Bucket:  # type: ignore[override]
        return S3Bucket(self.seaweedfs.client(), self.bucket)

    def stored_names(self) -> list[str]:
        return self.storage.names()


def start_on_store(
    store_kind: str, request: pytest.FixtureRequest, root: Path, *args: str, env: dict[str, str] | None = None
) -> LiveServer:
    """A started server keeping its uploads on `store_kind` (S3: a fresh bucket), its log in `root/server.log`."""
    if store_kind == "s3":
        server: LiveServer = S3LiveServer(root, request.getfixturevalue("seaweedfs"), *args, env=env)
    else:
        server = LiveServer(root / "uploads", root / "server.log", *args, env=env)
        server.upload_dir.mkdir(parents=True, exist_ok=True)
    server.start()
    return server
