"""post-receive: told while bytes arrive, throttled per upload; its StopUpload ends and removes the upload."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import time
from collections.abc import AsyncIterator

import pytest

from tests.events.clients import until
from tests.hooks.conftest import MakeHooked, Recorder
from tests.http.tus_client import assert_error, upload_id_of
from tusd_py.hooks.models import HookRequest, HookResponse, HTTPResponse

pytestmark = pytest.mark.stores("file", "s3")  # hooks see the same uploads on either store

BLOCK = 64 * 1024  # the smallest write block: storage reports every 64 KiB
INTERVAL = 0.2
MIB = 1024 * 1024


async def paced(pieces: int, every: float, block: int = BLOCK, sent: list[int] | None = None) -> AsyncIterator[bytes]:
    """A sender with a steady pace: one block every `every` seconds (a pace, not a wait); `sent` counts them."""
    for n in range(pieces):
        if n:
            await asyncio.sleep(every)
        if sent is not None:
            sent.append(n)
        yield bytes([n % 256]) * block


@pytest.mark.stores("file")  # S3 stores (and tells) bytes a part of 5 MiB at a time, not these 64 KiB blocks
async def test_post_receive_is_sent_at_most_once_per_interval(make_hooked: MakeHooked) -> None:
    told: list[tuple[float, int]] = []

    async def hook(request: HookRequest) -> None:
        told.append((time.monotonic(), request.upload.offset))

    client = make_hooked({"post-receive": hook}, hooks_progress_interval=INTERVAL, write_block_size=BLOCK)
    pieces = 12
    url = await client.new_upload(pieces * BLOCK)

    response = await client.patch(url, paced(pieces, 0.05), offset=0)

    assert response.status_code == 204
    await until(lambda: bool(told) and told[-1][1] == pieces * BLOCK)
    assert 3 <= len(told) < pieces  # told during the upload, but far less often than blocks were stored
    # While bytes arrive, one per interval; the request's end is told at once (the last entry).
    while_arriving = [at for at, _ in told[:-1]]
    assert all(b - a >= INTERVAL * 0.9 for a, b in itertools.pairwise(while_arriving))
    offsets = [offset for _, offset in told]
    assert offsets == sorted(set(offsets))
    assert all(offset % BLOCK == 0 for offset in offsets)


async def test_the_last_offset_of_each_request_reaches_post_receive(
    make_hooked: MakeHooked, recorder: Recorder
) -> None:
    client = make_hooked({"post-receive": recorder.asynchronous()}, hooks_progress_interval=10)
    url = await client.new_upload(10)

    await client.patch(url, b"abc", offset=0)
    await client.patch(url, b"def", offset=3)
    await client.patch(url, b"ghij", offset=6)

    told = await recorder.wait_for("post-receive", 3)
    assert [request.upload.offset for request in told] == [3, 6, 10]


async def test_bytes_verified_by_a_checksum_reach_post_receive(make_hooked: MakeHooked, recorder: Recorder) -> None:
    client = make_hooked({"post-receive": recorder.asynchronous()})
    url = await client.new_upload(3)
    digest = base64.b64encode(hashlib.sha1(b"abc").digest()).decode()

    response = await client.patch(url, b"abc", offset=0, headers={"Upload-Checksum": f"sha1 {digest}"})

    assert response.status_code == 204
    [told] = await recorder.wait_for("post-receive")
    assert told.upload.offset == 3


async def test_bytes_refused_by_a_checksum_are_not_told(make_hooked: MakeHooked, recorder: Recorder) -> None:
    client = make_hooked({"post-receive": recorder.asynchronous(), "post-create": recorder.asynchronous()})
    url = await client.new_upload(3)
    wrong = base64.b64encode(hashlib.sha1(b"xyz").digest()).decode()

    response = await client.patch(url, b"abc", offset=0, headers={"Upload-Checksum": f"sha1 {wrong}"})

    assert response.status_code == 460
    await client.patch(url, b"a", offset=0)  # a later request's post-receive comes after any of the first's
    told = await recorder.wait_for("post-receive")
    assert [request.upload.offset for request in told] == [1]


async def test_post_receive_is_throttled_per_upload(make_hooked: MakeHooked, recorder: Recorder) -> None:
    client = make_hooked({"post-receive": recorder.asynchronous()}, hooks_progress_interval=10)
    first, second = await client.new_upload(6), await client.new_upload(6)

    await client.patch(first, b"abc", offset=0)
    await client.patch(second, b"abc", offset=0)

    await recorder.wait_for("post-receive", 2)
    told = [(request.upload.id, request.upload.offset) for request in recorder.of("post-receive")]
    # The second upload's bytes are told though the first's were, at the same offset, within the interval.
    assert told == [(upload_id_of(first), 3), (upload_id_of(second), 3)]


async def test_stop_upload_ends_the_patch_and_removes_the_upload(
    make_hooked: MakeHooked, recorder: Recorder, store_kind: str
) -> None:
    stop = HookResponse(
        stop_upload=True, http_response=HTTPResponse(403, json.dumps({"message": "virus found"}), {"X-Scan": "bad"})
    )

    async def scanner(request: HookRequest) -> HookResponse | None:
        return stop if request.upload.offset >= 2 * BLOCK else None

    client = make_hooked(
        {"post-receive": scanner, "post-terminate": recorder.asynchronous()},
        hooks_progress_interval=0.01,
        write_block_size=BLOCK,
    )
    pieces = 40
    piece = BLOCK if store_kind == "file" else MIB  # S3 stores, and tells, 5 MiB parts
    url = await client.new_upload(pieces * piece)
    sent: list[int] = []

    response = await client.patch(url, paced(pieces, 0.02, piece, sent), offset=0)

    assert len(sent) < pieces  # stopped before the whole body was sent
    body = assert_error(response, 403)
    assert body["error_code"] == "upload_stopped"
    assert body["error_message"] == "virus found"
    assert body["details"] == {"hook": "post-receive", "hook_response": {"message": "virus found"}}
    assert response.headers["X-Scan"] == "bad"
    assert (await client.head(url)).status_code == 410
    assert not client.stored_anything(url)
    # As when the client deletes it, the removal is told to post-terminate.
    [terminated] = await recorder.wait_for("post-terminate")
    assert terminated.upload.id == upload_id_of(url)


async def test_stop_upload_without_a_response_is_400(make_hooked: MakeHooked) -> None:
    client = make_hooked(
        {"post-receive": lambda request: HookResponse(stop_upload=True)},
        hooks_progress_interval=0.01,
        write_block_size=BLOCK,
    )
    url = await client.new_upload(40 * BLOCK)

    response = await client.patch(url, paced(40, 0.02), offset=0)

    body = assert_error(response, 400)
    assert body["error_code"] == "upload_stopped"
    assert body["error_message"] == "the upload was stopped"
    assert (await client.head(url)).status_code == 410


async def test_stop_upload_also_stops_a_creation_with_upload(make_hooked: MakeHooked) -> None:
    client = make_hooked(
        {"post-receive": lambda request: HookResponse(stop_upload=True)},
        hooks_progress_interval=0.01,
        write_block_size=BLOCK,
    )

    response = await client.create(40 * BLOCK, body=paced(40, 0.02))  # type: ignore[arg-type]

    body = assert_error(response, 400)
    assert body["error_code"] == "upload_stopped"
    assert (await client.head(response.headers["Location"])).status_code == 410


async def test_an_answer_without_stop_upload_lets_the_upload_finish(make_hooked: MakeHooked) -> None:
    client = make_hooked(
        {"post-receive": lambda request: HookResponse(reject_upload=True)},  # meaningless to post-receive
        hooks_progress_interval=0.01,
        write_block_size=BLOCK,
    )
    url = await client.new_upload(8 * BLOCK)

    response = await client.patch(url, paced(8, 0.01), offset=0)

    assert response.status_code == 204
    assert await client.offset_of(url) == 8 * BLOCK
