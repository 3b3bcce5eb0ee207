"""A scaled-out deployment for tests: one real redis-server and real instances sharing one upload directory."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis

from tests.support.live_server import LiveServer
from tests.support.raw_http import RawRequest
from tests.support.redis_server import RedisServer
from tests.support.tus import OFFSET_BODY, upload_id


class Cluster:
    """Instances started with the same `--redis-url` and `--upload-dir`, as behind a load balancer."""

    def __init__(self, root: Path, redis_server: RedisServer, *args: str) -> None:
        self.root = root
        self.redis_server = redis_server
        self.args = args
        self.upload_dir = root / "uploads"
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        self.instances: list[LiveServer] = []

    def start_instances(self, count: int, *args: str) -> list[LiveServer]:
        """Start `count` more instances, one after the other (started together they only slow each other)."""
        new = [
            LiveServer(
                self.upload_dir, self.root / f"instance-{len(self.instances) + n}.log",
                "--redis-url", self.redis_server.url, *self.args, *args,
            )
            for n in range(count)
        ]
        self.instances += new  # before starting: stop() cleans up even after a failed start
        for server in new:
            server.start()
        return new

    def stop(self) -> None:
        with ThreadPoolExecutor(max(1, len(self.instances))) as pool:
            list(pool.map(LiveServer.stop, self.instances))

    def redis(self) -> redis.Redis:
        """A plain client of the cluster's Redis, to look at keys as an operator would (use it in `with`)."""
        return redis.Redis.from_url(self.redis_server.url)

    def stored(self, url: str) -> bytes:
        """The upload's bytes as they are on the shared disk."""
        return (self.upload_dir / upload_id(url)).read_bytes()


def on(server: LiveServer, url: str) -> str:
    """The same upload's URL on another instance."""
    return server.endpoint + upload_id(url)


def start_patch(server: LiveServer, url: str, offset: int, length: int, **extra: str) -> RawRequest:
    """A PATCH of `length` bytes whose body the test then sends piece by piece (or never finishes)."""
    path = server.base_path + upload_id(url)
    headers = {**OFFSET_BODY, "Upload-Offset": str(offset), "Content-Length": str(length), **extra}
    return RawRequest(server.port, "PATCH", path, headers)
