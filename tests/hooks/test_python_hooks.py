"""Python callables, sync or async, receive every hook point with the upload and the request that fired it."""

from __future__ import annotations

import asyncio
import base64
import threading

import pytest

from tests.hooks.conftest import FIRED_BY, MakeHooked, Recorder
from tests.http.tus_client import TusClient, assert_error, upload_id_of
from tusd_py.hooks.models import HookRequest, HookResponse
from tusd_py.protocol.errors import TusError

pytestmark = pytest.mark.stores("file", "s3")  # hooks see the same uploads on either store

ALL_HOOKS = [
    "pre-create",
    "post-create",
    "post-receive",
    "pre-finish",
    "post-finish",
    "pre-terminate",
    "post-terminate",
]


def metadata(**pairs: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in pairs.items())


async def lifecycle(client: TusClient, data: bytes = b"hello world") -> str:
    """Create an upload, send all its bytes, delete it: every hook point fires once (post-receive at least once)."""
    url = await client.uploaded(data, metadata=metadata(filename="notes.txt"))
    response = await client.delete(url)
    assert response.status_code == 204, response.text
    return url


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("hook", ALL_HOOKS)
async def test_every_hook_point_reaches_a_callable(
    make_hooked: MakeHooked, recorder: Recorder, hook: str, kind: str
) -> None:
    callable_ = recorder.sync() if kind == "sync" else recorder.asynchronous()
    client = make_hooked({hook: callable_})

    url = await lifecycle(client)

    [request, *_] = await recorder.wait_for(hook)
    assert request.type == hook
    assert request.origin is not None
    assert request.origin.method == FIRED_BY[hook]
    expected_uri = "/files/" if FIRED_BY[hook] == "POST" else f"/files/{upload_id_of(url)}"
    assert request.origin.uri == expected_uri
    assert request.origin.remote_addr == "127.0.0.1:123"  # where httpx's in-process transport says it comes from
    assert ("tus-resumable", "1.0.0") in [(name.lower(), value) for name, value in request.origin.headers]
    assert request.upload.metadata == {"filename": "notes.txt"}
    assert request.upload.id == ("" if hook == "pre-create" else upload_id_of(url))


async def test_hooks_fire_in_the_order_of_an_uploads_life(make_hooked: MakeHooked, recorder: Recorder) -> None:
    client = make_hooked({hook: recorder.asynchronous() for hook in ALL_HOOKS}, hooks_progress_interval=10)

    await lifecycle(client)

    await recorder.wait_for("post-terminate")
    fired = [request.type.value for request in recorder.requests]
    assert sorted(fired) == sorted(ALL_HOOKS)
    # pre-* hooks run inside their requests, in order; each post-* hook is sent after its request's pre-* one.
    assert [hook for hook in fired if hook.startswith("pre-")] == ["pre-create", "pre-finish", "pre-terminate"]
    for stage in ("create", "finish", "terminate"):
        assert fired.index(f"pre-{stage}") < fired.index(f"post-{stage}")
    assert fired.index("post-create") < fired.index("post-receive") < fired.index("post-finish")


async def test_pre_create_gets_the_proposed_upload_and_the_request(make_hooked: MakeHooked, recorder: Recorder) -> None:
    client = make_hooked({"pre-create": recorder.asynchronous()})

    await client.create(5, metadata=metadata(filename="a.txt", filetype="text/plain"), headers={"X-Tag": "blue"})

    [request] = recorder.of("pre-create")
    payload = request.to_json()
    assert payload["Type"] == "pre-create"
    assert payload["Event"]["Upload"] == {
        "ID": "",
        "Size": 5,
        "SizeIsDeferred": False,
        "Offset": 0,
        "MetaData": {"filename": "a.txt", "filetype": "text/plain"},
        "IsPartial": False,
        "IsFinal": False,
        "PartialUploads": None,
        "Storage": None,
    }
    http_request = payload["Event"]["HTTPRequest"]
    assert (http_request["Method"], http_request["URI"]) == ("POST", "/files/")
    assert http_request["RemoteAddr"] == "127.0.0.1:123"  # where httpx's in-process transport says it comes from
    assert http_request["Header"]["Upload-Length"] == ["5"]
    assert http_request["Header"]["Tus-Resumable"] == ["1.0.0"]
    assert http_request["Header"]["X-Tag"] == ["blue"]


async def test_a_repeated_request_header_arrives_as_a_list(make_hooked: MakeHooked, recorder: Recorder) -> None:
    client = make_hooked({"pre-create": recorder.asynchronous()})

    await client.http.post(
        "/files/", headers=[("Tus-Resumable", "1.0.0"), ("Upload-Length", "1"), ("x-note", "a"), ("X-NOTE", "b")]
    )

    [request] = recorder.of("pre-create")
    assert request.to_json()["Event"]["HTTPRequest"]["Header"]["X-Note"] == ["a", "b"]


async def test_the_uri_keeps_the_query_string(make_hooked: MakeHooked, recorder: Recorder) -> None:
    client = make_hooked({"pre-create": recorder.asynchronous()})

    await client.http.post("/files/?ref=mail", headers={"Tus-Resumable": "1.0.0", "Upload-Length": "1"})

    [request] = recorder.of("pre-create")
    assert request.to_json()["Event"]["HTTPRequest"]["URI"] == "/files/?ref=mail"


async def test_a_deferred_length_is_told_as_deferred(make_hooked: MakeHooked, recorder: Recorder) -> None:
    client = make_hooked({"post-create": recorder.asynchronous()})

    await client.new_upload(defer=True)

    [request] = await recorder.wait_for("post-create")
    upload = request.to_json()["Event"]["Upload"]
    assert (upload["Size"], upload["SizeIsDeferred"]) == (0, True)


async def test_post_create_gets_the_new_id_and_where_it_is_stored(make_hooked: MakeHooked, recorder: Recorder) -> None:
    client = make_hooked({"post-create": recorder.asynchronous()})

    url = await client.new_upload(5)

    [request] = await recorder.wait_for("post-create")
    upload = request.to_json()["Event"]["Upload"]
    assert upload["ID"] == upload_id_of(url)
    assert upload["Storage"] == client.storage_field(url)


async def test_post_receive_gets_the_offset_stored_so_far(make_hooked: MakeHooked, recorder: Recorder) -> None:
    client = make_hooked({"post-receive": recorder.asynchronous()})
    url = await client.new_upload(10)

    await client.patch(url, b"abcd", offset=0)

    [request] = await recorder.wait_for("post-receive")
    assert (request.upload.offset, request.upload.size) == (4, 10)
    assert request.origin is not None
    assert request.origin.header_lists()["Upload-Offset"] == ["0"]


@pytest.mark.parametrize("hook", ["pre-finish", "post-finish"])
async def test_the_finish_hooks_get_the_complete_upload(make_hooked: MakeHooked, recorder: Recorder, hook: str) -> None:
    client = make_hooked({hook: recorder.asynchronous()})

    url = await client.uploaded(b"0123456789")

    [request] = await recorder.wait_for(hook)
    assert (request.upload.offset, request.upload.size) == (10, 10)
    assert request.to_json()["Event"]["Upload"]["Storage"] == client.storage_field(url)


async def test_the_finish_hooks_fire_for_an_upload_completed_at_creation(
    make_hooked: MakeHooked, recorder: Recorder
) -> None:
    client = make_hooked({"pre-finish": recorder.asynchronous(), "post-finish": recorder.asynchronous()})

    url = await client.new_upload(3, body=b"abc")

    [pre] = await recorder.wait_for("pre-finish")
    [post] = await recorder.wait_for("post-finish")
    assert pre.upload.id == post.upload.id == upload_id_of(url)
    assert pre.origin is not None and pre.origin.method == "POST"


async def test_a_sync_hook_runs_off_the_event_loop(make_hooked: MakeHooked) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow_pre_create(request: HookRequest) -> None:
        entered.set()
        release.wait(10)

    client = make_hooked({"pre-create": slow_pre_create})
    creating = asyncio.create_task(client.create(5))
    try:
        await asyncio.to_thread(entered.wait, 5)
        # While the hook blocks its thread, the server still answers other requests.
        options = await asyncio.wait_for(client.options(), 2)
        assert options.status_code == 200
        assert not creating.done()
    finally:
        release.set()
    assert (await creating).status_code == 201


async def test_a_hook_may_return_none_to_let_the_request_go_on(make_hooked: MakeHooked) -> None:
    client = make_hooked({"pre-create": lambda request: None})

    assert (await client.create(5)).status_code == 201


async def test_a_hook_returning_something_else_than_a_response_is_a_failed_hook(make_hooked: MakeHooked) -> None:
    client = make_hooked({"pre-create": lambda request: {"RejectUpload": True}})

    body = assert_error(await client.create(5), 502)

    assert body["error_code"] == "hook_failed"
    assert "HookResponse" in body["error_message"]


async def test_a_python_hook_may_refuse_with_the_servers_own_error(make_hooked: MakeHooked) -> None:
    def refuse(request: HookRequest) -> HookResponse:
        raise TusError(413, "quota_exceeded", "you have used your quota", {"quota": "1GiB"})

    client = make_hooked({"pre-create": refuse})

    body = assert_error(await client.create(5), 413)

    assert body == {
        "error_code": "quota_exceeded",
        "error_message": "you have used your quota",
        "details": {"quota": "1GiB"},
    }
    assert client.stored_files() == []


async def test_an_unknown_hook_name_is_refused_when_the_app_is_made(make_hooked: MakeHooked) -> None:
    with pytest.raises(ValueError):
        make_hooked({"pre-upload": lambda request: None})
