"""An app under a real uvicorn, with `tusd-py serve`'s own HTTP and WebSocket protocols, on a free loopback port
in a thread of the test's process: for tests that must share objects with the server (an in-memory exporter)."""

from __future__ import annotations

import asyncio
import threading
from typing import Self

import uvicorn
from starlette.types import ASGIApp

from tests.support.live_server import free_port
from tests.support.waiting import wait_until
from tusd_py.cli.http_protocol import BoundedHttpToolsProtocol
from tusd_py.cli.ws_protocol import DirectFramesProtocol


class ThreadedServer:
    def __init__(self, app: ASGIApp) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            http=BoundedHttpToolsProtocol,
            ws=DirectFramesProtocol,
        )
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.server.serve(),), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=20)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.loop.close()
