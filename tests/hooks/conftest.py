"""Fixtures for in-process hook tests: an app built with Python hooks, and a recorder of what each hook got."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.http.tus_client import TusClient
from tests.interop.stored_upload import S3Bucket
from tusd_py import Settings, create_app
from tusd_py.hooks.handlers import PythonHook
from tusd_py.hooks.models import HookRequest, HookResponse

MakeHooked = Callable[..., TusClient]

# The request each hook point is fired by, in a lifecycle of POST, PATCH (completing it), DELETE.
FIRED_BY = {
    "pre-create": "POST",
    "post-create": "POST",
    "post-receive": "PATCH",
    "pre-finish": "PATCH",
    "post-finish": "PATCH",
    "pre-terminate": "DELETE",
    "post-terminate": "DELETE",
}


class Recorder:
    """Every HookRequest a hook was given, in order, with a way to wait for the next ones."""

    def __init__(self) -> None:
        self.requests: list[HookRequest] = []
        self._changed = asyncio.Event()

    def record(self, request: HookRequest) -> None:
        self.requests.append(request)
        # Sync hooks run in a worker thread: wake the waiting test from the loop's side.
        self._loop.call_soon_threadsafe(self._changed.set)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def of(self, hook: str) -> list[HookRequest]:
        return [request for request in self.requests if request.type == hook]

    async def wait_for(self, hook: str, count: int = 1, timeout: float = 5.0) -> list[HookRequest]:
        async with asyncio.timeout(timeout):
            while len(self.of(hook)) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.of(hook)

    def sync(self, answer: HookResponse | None = None) -> PythonHook:
        def hook(request: HookRequest) -> HookResponse | None:
            self.record(request)
            return answer

        return hook

    def asynchronous(self, answer: HookResponse | None = None) -> PythonHook:
        async def hook(request: HookRequest) -> HookResponse | None:
            self.record(request)
            return answer

        return hook


@pytest.fixture
async def recorder() -> Recorder:
    recorder = Recorder()
    recorder.bind(asyncio.get_running_loop())
    return recorder


@pytest.fixture
def tag(request: pytest.FixtureRequest) -> str:
    """A metadata value naming this test, so it reads only its own hooks from a service shared by the module."""
    return str(request.node.name)


@pytest.fixture
async def make_hooked(
    upload_dir: Path, store_fields: dict[str, Any], storage: Path | S3Bucket
) -> AsyncIterator[MakeHooked]:
    """`make_hooked({"pre-create": fn}, hooks_progress_interval=0.05)`: a client of an app with those hooks."""
    clients: list[TusClient] = []

    def make(hooks: Mapping[str, PythonHook], **fields: Any) -> TusClient:
        settings = Settings.from_env({}, upload_dir=upload_dir, **{**store_fields, **fields})
        client = TusClient(create_app(settings, hooks=hooks), upload_dir, endpoint=settings.base_path, storage=storage)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()
