"""post-* hooks are told afterwards, in the background: one that raises or hangs never fails or slows a request."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from tests.hooks.conftest import MakeHooked
from tests.hooks.test_python_hooks import lifecycle
from tusd_py.hooks.models import HookRequest

pytestmark = pytest.mark.stores("file", "s3")  # hooks see the same uploads on either store

POST_HOOKS = ["post-create", "post-receive", "post-finish", "post-terminate"]
HANG_SECONDS = 30.0
# Far below HANG_SECONDS: a request that waited for the hook could not be this fast.
FAST_ENOUGH = 10.0  # 20 lifecycles on S3 take some 2.5 s on a loaded machine


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Lets hanging sync hooks go at the end of the test, so no thread outlives it."""
    event = threading.Event()
    yield event
    event.set()


@pytest.mark.parametrize("hook", POST_HOOKS)
async def test_a_post_hook_that_raises_never_fails_the_upload(make_hooked: MakeHooked, hook: str) -> None:
    called = threading.Event()

    def broken(request: HookRequest) -> None:
        called.set()
        raise RuntimeError("the hook is broken")

    client = make_hooked({hook: broken})

    url = await lifecycle(client, b"still uploaded")

    assert await asyncio.to_thread(called.wait, 5)
    assert (await client.head(url)).status_code == 410  # the whole lifecycle went through: it was deleted


@pytest.mark.parametrize("hook", POST_HOOKS)
async def test_a_post_hook_that_sleeps_never_slows_the_upload(make_hooked: MakeHooked, hook: str) -> None:
    called = asyncio.Event()

    async def sleepy(request: HookRequest) -> None:
        called.set()
        await asyncio.sleep(HANG_SECONDS)

    client = make_hooked({hook: sleepy})
    started = time.monotonic()

    await lifecycle(client)

    assert time.monotonic() - started < FAST_ENOUGH
    await asyncio.wait_for(called.wait(), 5)


@pytest.mark.parametrize("hook", POST_HOOKS)
async def test_a_sync_post_hook_that_blocks_never_slows_the_upload(
    make_hooked: MakeHooked, hook: str, release: threading.Event
) -> None:
    called = threading.Event()

    def blocking(request: HookRequest) -> None:
        called.set()
        release.wait(HANG_SECONDS)

    client = make_hooked({hook: blocking})
    started = time.monotonic()

    await lifecycle(client)

    assert time.monotonic() - started < FAST_ENOUGH
    assert await asyncio.to_thread(called.wait, 5)


async def test_uploads_go_on_while_post_hooks_hang(make_hooked: MakeHooked) -> None:
    async def sleepy(request: HookRequest) -> None:
        await asyncio.sleep(HANG_SECONDS)

    client = make_hooked({hook: sleepy for hook in POST_HOOKS})
    started = time.monotonic()

    urls = [await client.uploaded(f"file {n}".encode()) for n in range(20)]

    assert time.monotonic() - started < FAST_ENOUGH
    assert [client.stored_bytes(url) for url in urls] == [f"file {n}".encode() for n in range(20)]
