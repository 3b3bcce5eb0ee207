"""The S3 side of the benchmark: one SeaweedFS for the whole run, a bucket of its own for every server started."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.clients import NotPossible

if TYPE_CHECKING:
    from tests.support.seaweedfs import SeaweedFS


class S3Service:
    """The run's SeaweedFS (the suite's own fixture, tests/support/seaweedfs.py), started on first use."""

    def __init__(self) -> None:
        self.weed: SeaweedFS | None = None
        self.failure: str | None = None

    def start(self, directory: Path) -> None:
        """Start SeaweedFS in `directory`; on failure every S3 server is n/a with the reason."""
        try:
            from tests.support.seaweedfs import SeaweedFS, weed_binary

            directory.mkdir(parents=True, exist_ok=True)
            weed = SeaweedFS(directory, weed_binary())
            weed.start()
        except BaseException as error:  # pytest's skip (no weed binary) is a BaseException too
            self.failure = f"SeaweedFS did not start: {str(error).splitlines()[0] if str(error) else error!r}"
            return
        self.weed = weed

    def running(self) -> SeaweedFS:
        if self.weed is None:
            raise NotPossible(self.failure or "SeaweedFS is not running")
        return self.weed

    def stop(self) -> None:
        if self.weed is not None:
            self.weed.stop()
            self.weed = None

    def empty(self, bucket: str) -> None:
        """Drop every object and unfinished multipart upload of `bucket`, then have SeaweedFS reclaim the space
        at once (otherwise a full run leaves tens of GiB of deleted parts on disk until its own vacuum)."""
        weed = self.running()
        client = weed.client()
        for key, upload_id in weed.multipart_uploads(bucket):
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        keys = list(weed.keys(bucket))
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        master = f"http://127.0.0.1:{weed.ports['master']}/vol/vacuum?garbageThreshold=0.0001"
        with urllib.request.urlopen(master, timeout=300) as answer:
            answer.read()


SERVICE = S3Service()
