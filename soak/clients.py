"""How the soak's Python clients reach the instances: an httpx transport sending each request to a random instance
(recording answers and in-flight requests), and raw tus requests for what tusd_py's client does not do itself:
deferred lengths, bodies dropped midway, bodies that stall."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from pathlib import Path

import httpx

from soak.ledger import Ledger, upload_id

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"


class RandomInstance(httpx.AsyncBaseTransport):
    """Each request to a random live instance, as a balancer without affinity would send it."""

    def __init__(self, ports: Callable[[], list[int]], ledger: Ledger, rng: random.Random, host: str) -> None:
        self.ports = ports
        self.host = host  # the balancer's address: the Host a client behind it sends, so URLs name the balancer
        self.ledger = ledger
        self.rng = rng
        self.inner = httpx.AsyncHTTPTransport(retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        port = self.rng.choice(self.ports())
        request.url = request.url.copy_with(host="127.0.0.1", port=port)
        request.headers["host"] = self.host
        parts = request.url.path.strip("/").split("/")
        uid = parts[1] if len(parts) == 2 else ""  # /files/<id>: PATCH, HEAD, GET, DELETE of one upload
        self.ledger.in_flight[uid][port] += 1
        try:
            try:
                response = await self.inner.handle_async_request(request)
            except httpx.TransportError:
                self.ledger.request_failed(port, uid)
                raise
            if response.status_code >= 500 or response.status_code == 423:
                self.ledger.request_failed(port, uid)
            body = None
            if response.status_code >= 400:
                body = await response.aread()
            self.ledger.answered(request.method, response.status_code, body)
            if request.method == "PATCH" and response.status_code == 204:
                offset = response.headers.get("upload-offset", "")
                self.ledger.patch_succeeded(uid, int(offset) if offset.isdigit() else 0)
            return response
        finally:
            self.ledger.in_flight[uid][port] -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


def random_client(ports: Callable[[], list[int]], ledger: Ledger, rng: random.Random,
                  host: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=RandomInstance(ports, ledger, rng, host), base_url=f"http://{host}/",
                             timeout=httpx.Timeout(30.0, connect=5.0))


class GaveUp(Exception):
    """A raw upload ran out of attempts."""


async def create(client: httpx.AsyncClient, size: int | None) -> str:
    """POST a new upload (deferred length when `size` is None); its URL."""
    headers = {**TUS, "Upload-Defer-Length": "1"} if size is None else {**TUS, "Upload-Length": str(size)}
    for attempt in range(30):
        with contextlib.suppress(httpx.TransportError):
            response = await client.post("/files/", headers=headers)
            if response.status_code == 201:
                return "/files/" + upload_id(response.headers["location"])
            if response.status_code < 500 and response.status_code not in (423, 429):
                raise GaveUp(f"POST answered {response.status_code}: {response.text[:200]}")
        await asyncio.sleep(min(3.0, 0.2 * 2 ** min(attempt, 4)))
    raise GaveUp("POST kept failing")


async def offset_of(client: httpx.AsyncClient, url: str) -> int:
    for attempt in range(30):
        with contextlib.suppress(httpx.TransportError):
            response = await client.head(url, headers=TUS)
            if response.status_code == 200:
                return int(response.headers["upload-offset"])
            if response.status_code in (404, 410):
                raise GaveUp(f"HEAD answered {response.status_code}")
        await asyncio.sleep(min(3.0, 0.2 * 2 ** min(attempt, 4)))
    raise GaveUp("HEAD kept failing")


async def send_rest(client: httpx.AsyncClient, url: str, source: Path, size: int, chunk: int,
                    deferred: bool = False) -> None:
    """PATCH from the server's offset to the end, in `chunk`-byte requests; after a failure HEAD and go on. With
    `deferred`, the last PATCH declares the length."""
    failures = 0
    offset = await offset_of(client, url)
    declared = not deferred
    while offset < size or not declared:
        end = min(size, offset + chunk)
        with open(source, "rb") as file:
            file.seek(offset)
            body = file.read(end - offset)
        headers = {**TUS, "Upload-Offset": str(offset), "Content-Type": OCTETS}
        if not declared and end == size:
            headers["Upload-Length"] = str(size)
        try:
            response = await client.patch(url, headers=headers, content=body)
            status = response.status_code
        except httpx.TransportError:
            status = 0
        if status == 204:
            offset = int(response.headers["upload-offset"])
            declared = declared or "Upload-Length" in headers
            failures = 0
            continue
        if status in (404, 410) or (400 <= status < 500 and status not in (409, 423, 429, 460)):
            raise GaveUp(f"PATCH answered {status}: {response.text[:200]}")
        failures += 1
        if failures > 40:
            raise GaveUp(f"PATCH kept failing (last status {status})")
        await asyncio.sleep(min(3.0, 0.1 * 2 ** min(failures, 5)))
        offset = await offset_of(client, url)
        if deferred and not declared:
            head = await client.head(url, headers=TUS)
            declared = head.status_code == 200 and "upload-length" in head.headers


async def broken_patch(port: int, url: str, source: Path, offset: int, length: int, sent: int,
                       stall: float) -> None:
    """A PATCH announcing `length` bytes that sends only `sent` of them, then (after `stall` seconds of silence,
    0 for none) drops the connection: a client that vanished midway."""
    with open(source, "rb") as file:
        file.seek(offset)
        body = file.read(sent)
    head = (f"PATCH {url} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTus-Resumable: 1.0.0\r\n"
            f"Upload-Offset: {offset}\r\nContent-Type: {OCTETS}\r\nContent-Length: {length}\r\n\r\n")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return
    try:
        writer.write(head.encode() + body)
        await writer.drain()
        if stall:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(reader.read(65536), stall)  # the server may answer (network timeout)
    except OSError:
        pass
    finally:
        writer.transport.abort()
