"""Slow and idle clients: connections trickling request heads or bodies a byte a second, and idle event
subscribers, opened all at once; a normal upload's throughput is measured alone and then alongside them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from soak.clients import TUS
from soak.ledger import Ledger


@dataclass
class SlowFigures:
    tricklers: int
    subscribers: int
    opened: int  # tricklers and subscribers connected at the time of the loaded measurement
    cut_off: int  # tricklers the servers closed on before the phase ended
    size: int
    solo_seconds: float
    loaded_seconds: float

    @property
    def ratio(self) -> float:
        return self.solo_seconds / self.loaded_seconds if self.loaded_seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        return {**self.__dict__, "ratio": round(self.ratio, 3)}


async def timed_upload(endpoint: str, source: Path) -> float:
    """`tusd-py upload` of `source` in a process of its own (the soak's event loop is busy with the crowd): the
    seconds it reports for the transfer."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tusd_py", "upload", str(source), "--endpoint", endpoint, "--json",
        "--store", str(source.with_suffix(".store.json")), "--chunk-size", "8MiB",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    lines = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    results = [line for line in lines if line.get("status") == "uploaded"]
    if process.returncode != 0 or not results:
        said = (out.decode()[-300:] + " " + err.decode()[-300:]).strip()
        raise RuntimeError(f"the measured upload failed ({process.returncode}): {said}")
    return float(results[0]["seconds"])


class Crowd:
    """The slow and idle connections, each a task; `cut_off` counts tricklers the server closed."""

    def __init__(self, ports: Callable[[], list[int]], rng: random.Random) -> None:
        self.ports = ports
        self.rng = rng
        self.tasks: list[asyncio.Task[None]] = []
        self.opened = 0
        self.cut_off = 0
        self.stop = asyncio.Event()

    async def trickle(self, body: bool) -> None:
        port = self.rng.choice(self.ports())
        if body:
            head = (f"POST /files/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTus-Resumable: 1.0.0\r\n"
                    "Upload-Length: 100000\r\nContent-Type: application/offset+octet-stream\r\n"
                    "Content-Length: 100000\r\n\r\n")
            first, drip = head.encode(), b"x"
        else:
            first, drip = f"GET /files/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode(), b"a"
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return
        self.opened += 1
        try:
            writer.write(first)
            while not self.stop.is_set():
                await writer.drain()
                with contextlib.suppress(asyncio.TimeoutError):
                    if await asyncio.wait_for(reader.read(4096), 1.0) == b"":
                        self.cut_off += 1
                        return
                    self.cut_off += 1  # an answer (408, 431…) before the request was whole: cut off too
                    return
                writer.write(drip)
        except OSError:
            self.cut_off += 1
        finally:
            self.opened -= 1
            writer.transport.abort()

    async def subscribe(self, uid: str, websocket: bool) -> None:
        port = self.rng.choice(self.ports())
        url = f"127.0.0.1:{port}/files/{uid}/events"
        with contextlib.suppress(Exception):
            if websocket:
                async with connect("ws://" + url, open_timeout=30) as socket:
                    self.opened += 1
                    try:
                        while not self.stop.is_set():
                            with contextlib.suppress(asyncio.TimeoutError):
                                await asyncio.wait_for(socket.recv(), 1.0)
                    finally:
                        self.opened -= 1
            else:
                async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=None)) as client, \
                        client.stream("GET", "http://" + url) as response:
                    self.opened += 1
                    try:
                        lines = response.aiter_lines()
                        while not self.stop.is_set():
                            with contextlib.suppress(asyncio.TimeoutError):
                                await asyncio.wait_for(anext(lines), 1.0)
                    finally:
                        self.opened -= 1

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def slow_clients(ports: Callable[[], list[int]], rng: random.Random, ledger: Ledger, client: httpx.AsyncClient,
                       tricklers: int, subscribers: int, size: int) -> SlowFigures:
    endpoint = f"http://127.0.0.1:{ports()[0]}/files/"
    source, _ = await asyncio.to_thread(ledger.source, size, bytes(rng.randbytes(65536)))
    solo = await timed_upload(endpoint, source)
    idle = []
    for _ in range(10):  # uploads that never get a byte: their streams stay open and quiet
        response = await client.post("/files/", headers={**TUS, "Upload-Length": "1"})
        idle.append(response.headers["location"].rstrip("/").rsplit("/", 1)[-1])
    crowd = Crowd(ports, rng)
    crowd.tasks = [asyncio.ensure_future(crowd.trickle(body=n % 2 == 1)) for n in range(tricklers)]
    crowd.tasks += [asyncio.ensure_future(crowd.subscribe(idle[n % len(idle)], websocket=n % 2 == 0))
                    for n in range(subscribers)]
    deadline = time.monotonic() + 60
    while crowd.opened < (tricklers + subscribers) * 0.95 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    opened = crowd.opened
    try:
        loaded = await timed_upload(endpoint, source)
    finally:
        await crowd.close()
        for uid in idle:
            with contextlib.suppress(httpx.HTTPError):
                await client.delete(f"/files/{uid}", headers=TUS)
        source.unlink(missing_ok=True)
    return SlowFigures(tricklers, subscribers, opened, crowd.cut_off, size, solo, loaded)


def describe(figures: SlowFigures) -> str:
    return json.dumps(figures.as_dict())
