"""The soak's clients: workers that each upload one random file after another in a random way (tusd_py's client
over HTTP, in parallel parts or over its upload socket; tus-js-client under node; raw tus with deferred lengths,
bodies dropped midway or stalled), then check it back by full and ranged downloads, sometimes delete it, and
follow its events on a random instance."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import os
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from soak.clients import TUS, GaveUp, broken_patch, create, random_client, send_rest
from soak.followers import Follower
from soak.ledger import Ledger, Upload, upload_id
from tests.support.small_disk import SmallDisk
from tusd_py.client import RetryPolicy, Uploader, UploadListener, UploadOptions, URLStore

REPOSITORY = Path(__file__).resolve().parent.parent
NODE_SCRIPT = REPOSITORY / "tests" / "interop" / "node" / "upload.mjs"
KINDS = {  # kind → weight
    "python-http": 5, "python-parallel": 2, "python-websocket": 2, "deferred": 2, "dropped": 2, "stalled": 1,
    "node": 3,
}
NODE_RETRY_DELAYS = [0, 300, 1000, 2000, 3000, 5000, 5000, 5000, 5000, 5000, 5000, 5000]
NODE_RUN_TIMEOUT = 180.0  # tus-js-client has no request timeout: a request that never ends would hold it forever


@dataclass(frozen=True)
class Plan:
    """How much load: workers of each family, the largest file, how often an upload is deleted or followed."""

    python_workers: int
    node_workers: int
    max_size: int
    delete_ratio: float = 0.15
    follow_ratio: float = 0.5


def random_size(rng: random.Random, largest: int) -> int:
    """0 bytes now and then; otherwise log-uniform from 1 byte to `largest` (many small files, some big ones)."""
    if rng.random() < 0.05:
        return 0
    return int(math.exp(rng.uniform(0, math.log(largest))))


def random_chunk(rng: random.Random, smallest: int, largest: int) -> int:
    return int(math.exp(rng.uniform(math.log(smallest), math.log(largest))))


class Load:
    def __init__(self, ports: Callable[[], list[int]], balancer: str, ledger: Ledger, rng: random.Random,
                 workdir: Path, plan: Plan, over: asyncio.Event) -> None:
        self.ports = ports
        self.balancer = balancer  # the endpoint through the balancer (node and upload sockets)
        self.ledger = ledger
        self.rng = rng
        self.workdir = workdir
        self.plan = plan
        self.over = over  # the soak is over: followers stop reconnecting
        self.client = random_client(ports, ledger, rng, urlsplit(balancer).netloc)
        self.followers: set[asyncio.Task[object]] = set()
        self.node = shutil.which("node")
        self.stores = workdir / "stores"
        self.stores.mkdir(parents=True, exist_ok=True)
        self.disk: SmallDisk | None = None  # the upload directory's file system, kept below 40 % full

    async def close(self) -> None:
        await self.client.aclose()

    # -- the workers ------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        workers = [self._worker(stop, python=True) for _ in range(self.plan.python_workers)]
        workers += [self._worker(stop, python=False) for _ in range(self.plan.node_workers if self.node else 0)]
        if not self.node:
            self.ledger.notes.append("node is not installed: no tus-js-client load")
        await asyncio.gather(*workers)

    async def _worker(self, stop: asyncio.Event, python: bool) -> None:
        kinds = [kind for kind in KINDS if (kind == "node") != python]
        weights = [KINDS[kind] for kind in kinds]
        while not stop.is_set():
            kind = self.rng.choices(kinds, weights)[0]
            await self.one(kind)

    async def one(self, kind: str, size: int | None = None) -> Upload:
        size = random_size(self.rng, self.plan.max_size) if size is None else size
        path, digest = await asyncio.to_thread(self.ledger.source, size, os.urandom(65536))
        upload = self.ledger.add(Upload(kind, path, size, digest, delete=self.rng.random() < self.plan.delete_ratio))
        try:
            await self._send(upload)
            upload.state = "finished"
        except (GaveUp, httpx.HTTPError, OSError) as error:
            upload.state, upload.interrupted, upload.error = "failed", True, str(error)[:300]
            self.ledger.client_failures[kind] += 1
            return upload
        upload.finished_at = asyncio.get_running_loop().time()
        await self.check_back(upload)
        with contextlib.suppress(httpx.HTTPError):  # an instance died under the DELETE: room is made next time
            await self.make_room()
        return upload

    async def _send(self, upload: Upload) -> None:
        if upload.kind.startswith("python-"):
            await self._python(upload)
        elif upload.kind == "node":
            await self._node(upload)
        else:
            await self._raw(upload)

    # -- tusd_py's client -------------------------------------------------------------------------------

    def _uploader(self, upload: Upload) -> Uploader:
        kind = upload.kind
        websocket = kind == "python-websocket"
        options = UploadOptions(
            endpoint=self.balancer,
            chunk_size=random_chunk(self.rng, 64 * 1024, 16 * 2**20),
            parallel=self.rng.randint(2, 4) if kind == "python-parallel" else 1,
            checksum=self.rng.choice([None, None, "sha1", "md5", "sha256", "crc32"]),
            retry=RetryPolicy(retries=12, base_delay=0.2, max_delay=3.0, rng=self.rng),
            timeout=30.0,
            transport="websocket" if websocket else "http",
        )
        store = URLStore(self.stores / f"{upload.source.stem}.json")
        listener = _Started(self, upload)
        return Uploader(options, store=store, listener=listener, client=None if websocket else self.client)

    async def _python(self, upload: Upload) -> None:
        async with self._uploader(upload) as uploader:
            result = await uploader.upload(upload.source)
        if result.url:
            upload.url = result.url
        if not result.ok:
            raise GaveUp(f"{result.status}: {result.error}")

    # -- tus-js-client ----------------------------------------------------------------------------------

    async def _node(self, upload: Upload) -> None:
        assert self.node is not None
        parallel = self.rng.random() < 0.25 and upload.size > 1
        options = {
            "endpoint": self.balancer,
            "file": str(upload.source),
            "chunkSize": random_chunk(self.rng, 256 * 1024, 8 * 2**20),
            "retryDelays": NODE_RETRY_DELAYS,
            "headers": {"Connection": "close"},  # each request a connection of its own: a random instance
            "urlStorage": str(self.stores / f"{upload.source.stem}.node.json"),
        }
        if parallel:
            options["parallelUploads"] = 2
        elif self.rng.random() < 0.3:
            options["uploadLengthDeferred"] = True
        process = await asyncio.create_subprocess_exec(
            self.node, str(NODE_SCRIPT), json.dumps(options), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL)
        try:
            out, _ = await asyncio.wait_for(process.communicate(), NODE_RUN_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise GaveUp("tus-js-client did not finish") from None
        report = json.loads(out.decode().strip().splitlines()[-1]) if out.strip() else {}
        for request in report.get("requests", []):
            status = request.get("status")
            if isinstance(status, int) and status:
                body = request.get("responseBody") or ""
                self.ledger.answered(request["method"], status, body.encode() if status >= 400 else None)
        if report.get("uploadUrl"):
            upload.url = report["uploadUrl"]
        if not report.get("ok"):
            raise GaveUp(f"tus-js-client: {report.get('error')}")

    # -- raw tus ----------------------------------------------------------------------------------------

    async def _raw(self, upload: Upload) -> None:
        deferred = upload.kind == "deferred"
        url = await create(self.client, None if deferred else upload.size)
        upload.url = url
        self.follow(upload)
        chunk = random_chunk(self.rng, 64 * 1024, 8 * 2**20)
        if upload.kind in ("dropped", "stalled") and upload.size > 2:
            upload.interrupted = True
            sent = self.rng.randint(1, upload.size - 1)
            stall = 11.0 if upload.kind == "stalled" else 0.0  # past the instances' --network-timeout
            await broken_patch(self.rng.choice(self.ports()), url, upload.source, 0, upload.size, sent, stall)
        await send_rest(self.client, url, upload.source, upload.size, chunk, deferred=deferred)
        upload.resumed = upload.interrupted

    # -- after an upload ----------------------------------------------------------------------------------

    def follow(self, upload: Upload) -> None:
        if upload.url is None or self.rng.random() >= self.plan.follow_ratio:
            return
        transport = self.rng.choice(["websocket", "sse"])
        follower = Follower(upload_id(upload.url), transport, self.ports, self.rng, self.over)
        task = asyncio.ensure_future(follower.run())
        self.followers.add(task)
        self.ledger.streams.append(follower.check)

    async def check_back(self, upload: Upload) -> None:
        """The whole file and a few ranges, from random instances, against the source; then maybe delete it."""
        assert upload.url is not None
        url = "/files/" + upload_id(upload.url)
        digest = hashlib.sha256()
        try:
            async with self.client.stream("GET", url) as response:
                if response.status_code == 200:
                    async for piece in response.aiter_bytes():
                        digest.update(piece)
            if response.status_code == 200:
                self.ledger.downloads["checked"] += 1
                upload.checked = True
                if digest.hexdigest() != upload.sha256:
                    self.ledger.download_mismatches.append(f"{upload.kind} {url}: sha256 differs")
            for _ in range(self.rng.randint(1, 3) if upload.size > 1 else 0):
                await self._range(upload, url)
            if upload.delete:
                response = await self.client.delete(url, headers=TUS)
                if response.status_code == 204:
                    upload.state = "deleted"
        except httpx.HTTPError:
            self.ledger.downloads["interrupted"] += 1  # an instance died under it; the end checks every upload
        if upload.checked:
            self.ledger.discard_source(upload)

    async def make_room(self) -> None:
        """Past 40 % of the small disk, delete the oldest uploads already checked back (as a user would), down to
        30 %: the soak runs for as long as asked on a disk much smaller than all it uploads."""
        if self.disk is None or _used(self.disk) < 0.4:
            return
        for upload in self.ledger.uploads:
            if _used(self.disk) < 0.3:
                return
            if upload.state == "finished" and upload.url is not None and upload.checked:
                upload.delete = True
                response = await self.client.delete("/files/" + upload_id(upload.url), headers=TUS)
                if response.status_code == 204:
                    upload.state = "deleted"

    async def _range(self, upload: Upload, url: str) -> None:
        start = self.rng.randrange(upload.size)
        end = min(upload.size - 1, start + self.rng.randint(0, 4 * 2**20))
        response = await self.client.get(url, headers={"Range": f"bytes={start}-{end}"})
        if response.status_code != 206:
            return
        with open(upload.source, "rb") as file:
            file.seek(start)
            expected = file.read(end - start + 1)
        self.ledger.downloads["ranges"] += 1
        if response.content != expected:
            self.ledger.download_mismatches.append(f"{upload.kind} {url}: bytes {start}-{end} differ")

    async def resume(self, upload: Upload, runs: int = 3) -> None:
        """Take an upload a client gave up on to completion, as that client would when run again (up to `runs`
        times: tus-js-client, for one, gives up on a 4xx such as a 408 without retrying)."""
        for run in range(runs):
            try:
                await self._resume_once(upload)
                break
            except (GaveUp, httpx.HTTPError, OSError) as error:
                upload.error = f"resume {run + 1} failed: {error}"[:300]
        else:
            return
        upload.error = None
        upload.state, upload.resumed = "finished", True
        upload.finished_at = asyncio.get_running_loop().time()
        await self.check_back(upload)

    async def _resume_once(self, upload: Upload) -> None:
        if upload.kind.startswith("python-"):
            await self._python(upload)
        elif upload.kind == "node":
            await self._node(upload)
        elif upload.url is not None:
            await send_rest(self.client, upload.url, upload.source, upload.size, 4 * 2**20,
                            deferred=upload.kind == "deferred")
        else:
            await self._raw(upload)


class _Started(UploadListener):
    """Learns a tusd_py client upload's URL as soon as it exists, to follow its events."""

    def __init__(self, load: Load, upload: Upload) -> None:
        self.load = load
        self.upload = upload

    def started(self, path: Path, size: int, position: int, url: str, resumed: bool) -> None:
        if self.upload.url is None and url:
            self.upload.url = url
            if self.upload.kind != "python-parallel":
                self.load.follow(self.upload)


def _used(disk: SmallDisk) -> float:
    """How full the disk is with uploads (a disk-full fault's ballast does not count)."""
    usage = shutil.disk_usage(disk.path)
    ballast = disk.ballast.stat().st_size if disk.ballast.exists() else 0
    return (usage.used - ballast) / usage.total if usage.total else 0.0


async def settle(tasks: set[asyncio.Task[object]], timeout: float) -> None:
    if tasks:
        with contextlib.suppress(Exception):
            await asyncio.wait(tasks, timeout=timeout)
