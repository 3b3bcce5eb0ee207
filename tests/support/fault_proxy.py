"""An HTTP proxy in front of a real server that records every request and answers chosen ones with an error status."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from tests.support.live_server import free_port

Scope = dict[str, Any]


@dataclass
class Fault:
    """Answer the `nth` request of `method` (1 = the next one) with `status` instead of forwarding it."""

    method: str
    status: int
    nth: int = 1
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body_size: int
    status: int
    injected: bool


class FaultProxy:
    """A uvicorn server on its own thread. The Host header goes upstream unchanged, so the Location URLs the
    server builds point back at the proxy and every later request passes through it too."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.port = free_port()
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self._counts: dict[str, int] = {}
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", interface="asgi3")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def url_for(self, url: str) -> str:
        return url.replace(self.upstream, f"http://127.0.0.1:{self.port}", 1)

    def inject(self, method: str, status: int, nth: int = 1, **headers: str) -> None:
        done = self._counts.get(method, 0)
        self.faults.append(Fault(method, status, done + nth, {k.replace("_", "-"): v for k, v in headers.items()}))

    def methods(self) -> list[str]:
        return [f"{seen.method} {seen.status}" for seen in self.seen]

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fault proxy did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    async def app(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        method = scope["method"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self._counts[method] = self._counts.get(method, 0) + 1
        fault = next((f for f in self.faults if f.method == method and f.nth == self._counts[method]), None)
        if fault is not None:
            status, reply_headers = fault.status, {"tus-resumable": "1.0.0", **fault.headers}
            content = json.dumps({"error_code": "injected", "error_message": f"injected {status}", "details": {}})
            reply = content.encode()
        else:
            url = self.upstream + scope["raw_path"].decode("latin-1")
            async with httpx.AsyncClient() as client:
                response = await client.request(method, url, headers=headers, content=bytes(body))
            status, reply_headers, reply = response.status_code, dict(response.headers), response.content
            reply_headers.pop("content-length", None)
            reply_headers.pop("transfer-encoding", None)
        self.seen.append(Seen(method, scope["path"], headers, len(body), status, fault is not None))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in reply_headers.items()]
                + [(b"content-length", str(len(reply)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": reply})
