"""Event followers: one upload's stream over WebSocket or SSE on a random instance, reconnecting (with `since`) to
another when an instance dies, checking as events arrive that seq only grows, offsets never go back and exactly
one terminal event ends the stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Callable
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from soak.ledger import StreamCheck

TERMINAL = frozenset({"completed", "terminated", "expired", "failed", "processed"})
GONE_CLOSE_CODES = (4404, 4410)


class Follower:
    def __init__(self, uid: str, transport: str, ports: Callable[[], list[int]], rng: random.Random,
                 done: asyncio.Event) -> None:
        self.check = StreamCheck(uid, transport)
        self.ports = ports
        self.rng = rng
        self.done = done  # the soak is over: stop reconnecting
        self.last_seq: int | None = None
        self.offset = -1
        self.gone = False

    def seen(self, event: dict[str, Any]) -> None:
        check = self.check
        check.events += 1
        seq, kind = event.get("seq"), event.get("type")
        if not isinstance(seq, int):
            check.violations.append(f"event without an integer seq: {event}")
            return
        if check.terminal:
            check.violations.append(f"{kind} (seq {seq}) after the terminal event")
        if self.last_seq is not None and seq <= self.last_seq:
            check.violations.append(f"seq went from {self.last_seq} to {seq} ({kind})")
        self.last_seq = seq
        offset = event.get("offset")
        if kind in ("progress", "completed") and isinstance(offset, int):
            if offset < self.offset:
                check.violations.append(f"{kind} offset went back from {self.offset} to {offset} (seq {seq})")
            self.offset = max(self.offset, offset)
        if kind in TERMINAL:
            check.terminal += 1

    async def run(self) -> StreamCheck:
        failures = 0
        while not self.check.terminal and not self.gone:
            if self.done.is_set():
                break
            port = self.rng.choice(self.ports())
            try:
                if self.check.transport == "websocket":
                    await self._websocket(port)
                else:
                    await self._sse(port)
                failures = 0
            except (TimeoutError, OSError, httpx.HTTPError, ConnectionClosed, InvalidHandshake):
                failures += 1
            if not self.check.terminal and not self.gone:
                self.check.reconnects += 1
                await asyncio.sleep(min(2.0, 0.1 * 2 ** min(failures, 4)))
        self.check.ended = bool(self.check.terminal)
        return self.check

    def _query(self) -> str:
        return f"?since={self.last_seq}" if self.last_seq is not None else ""

    async def _websocket(self, port: int) -> None:
        url = f"ws://127.0.0.1:{port}/files/{self.check.upload}/events{self._query()}"
        try:
            async with connect(url, open_timeout=10) as socket:
                self.check.connected_at = time.monotonic()
                while True:
                    message = await self._or_done(socket.recv())
                    if message is None:
                        return
                    event = json.loads(message)
                    if event.get("type") == "error":
                        self.gone = event.get("error_code") in ("upload_not_found", "upload_gone")
                        return
                    self.seen(event)
        except ConnectionClosed as closed:
            if closed.rcvd is not None and closed.rcvd.code in GONE_CLOSE_CODES:
                self.gone = True
            elif closed.rcvd is None or closed.rcvd.code != 1000:
                raise
        except InvalidStatus as error:
            if error.response.status_code in (404, 410):
                self.gone = True
            else:
                raise

    async def _sse(self, port: int) -> None:
        url = f"http://127.0.0.1:{port}/files/{self.check.upload}/events{self._query()}"
        timeout = httpx.Timeout(10.0, read=None)
        async with httpx.AsyncClient(timeout=timeout) as client, client.stream("GET", url) as response:
            if response.status_code in (404, 410):
                self.gone = True
                return
            if response.status_code != 200:
                raise httpx.HTTPError(f"events answered {response.status_code}")
            self.check.connected_at = time.monotonic()
            lines = response.aiter_lines()
            while True:
                line = await self._or_done(anext(lines, None))
                if line is None:
                    return
                if line.startswith("data:"):
                    self.seen(json.loads(line[5:]))

    async def _or_done(self, awaitable: Any) -> Any:
        """The next message, or None once the soak is over and a grace period passed without one."""
        task = asyncio.ensure_future(awaitable)
        task.add_done_callback(_retrieved)  # if this follower is cancelled meanwhile, nobody else reads its outcome
        while True:
            finished, _ = await asyncio.wait({task}, timeout=1.0)
            if finished:
                return task.result()
            if self.done.is_set():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
                return None


def _retrieved(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
