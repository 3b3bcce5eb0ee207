"""gRPC hooks between two real processes: `tusd-py serve --hooks-grpc HOST:PORT` calls tusd's
`proto.HookHandler/InvokeHook` on a real service built from the hook.proto, retries it as tusd does, and honours
what it answers."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import httpx
import pytest

from tests.hooks.conftest import FIRED_BY
from tests.hooks.grpc_service import Answer, Call, Fail, HookService, generate_stubs
from tests.hooks.live import (
    assert_refused_as_closed,
    create,
    head,
    lifecycle,
    metadata,
    paced_body,
    patch,
    told_storage,
)
from tests.support.live_server import LiveServer, free_port
from tests.support.s3_server import start_on_store
from tests.support.tus import TUS, upload_id
from tests.support.waiting import wait_until
from tusd_py.hooks.proto import hook_pb2 as packaged_pb2
from tusd_py.protocol.metadata import parse_metadata

EVERY_HOOK = ",".join(FIRED_BY)
SOME_HOOKS = ["pre-create", "post-create", "post-finish"]
RETRIES = 2
BACKOFF = 0.1
TIMEOUT = 1.0
BLOCK = 64 * 1024  # the server's write block: post-receive may fire every 64 KiB


@pytest.fixture(scope="module")
def stubs(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, ModuleType]:
    return generate_stubs(tmp_path_factory.mktemp("grpc-stubs"))


@pytest.fixture(scope="module")
def service(stubs: tuple[ModuleType, ModuleType]) -> Iterator[HookService]:
    service = HookService(*stubs).start()
    yield service
    service.stop()


BOTH_STORES = pytest.mark.stores("file", "s3")  # what a hook is told of an upload and does to it; retries and
# deadlines are the hook transport's, where no store takes part: those run on files alone


def grpc_hooked(
    root: Path, target: str, *args: str, store_kind: str = "file", request: pytest.FixtureRequest | None = None
) -> LiveServer:
    if request is not None:
        return start_on_store(store_kind, request, root, "--hooks-grpc", target, *args)
    server = LiveServer(root / "uploads", root / "server.log", "--hooks-grpc", target, *args)
    server.upload_dir.mkdir(parents=True)
    server.start()
    return server


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, service: HookService, store_kind: str, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    """Every hook enabled, two retries 100 ms apart, a 1 s deadline, post-receive every 50 ms."""
    server = grpc_hooked(
        tmp_path_factory.mktemp(f"grpc-hooks-{store_kind}"),
        service.target,
        "--hooks-enabled-events", EVERY_HOOK,
        "--hooks-grpc-retry", str(RETRIES),
        "--hooks-grpc-backoff", f"{BACKOFF}s",
        "--hooks-timeout", f"{TIMEOUT}s",
        "--hooks-progress-interval", "50ms",
        "--write-block-size", "64KiB",
        store_kind=store_kind,
        request=request,
    )  # fmt: skip
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def default_answers(service: HookService) -> Iterator[None]:
    service.answer = lambda call: None
    yield
    service.answer = lambda call: None


def answering(hook: str, tag: str, answer: Any) -> Answer:
    return lambda call: answer if call.hook == hook and call.tag == tag else None


def test_the_packaged_messages_are_those_of_the_proto(stubs: tuple[ModuleType, ModuleType]) -> None:
    generated, _ = stubs
    assert packaged_pb2.DESCRIPTOR.serialized_pb == generated.DESCRIPTOR.serialized_pb
    assert packaged_pb2.DESCRIPTOR.package == "proto"
    assert [method.full_name for method in packaged_pb2.DESCRIPTOR.services_by_name["HookHandler"].methods] == [
        "proto.HookHandler.InvokeHook"
    ]


# -- delivery ----------------------------------------------------------------------------------------


@BOTH_STORES
@pytest.mark.parametrize("hook", list(FIRED_BY))
def test_every_hook_is_invoked_with_tusds_fields(server: LiveServer, service: HookService, tag: str, hook: str) -> None:
    url = lifecycle(server, tag)

    [call, *_] = service.wait_for(hook, tag=tag)
    upload = call.upload
    assert upload.id == ("" if hook == "pre-create" else upload_id(url))
    assert (upload.size, upload.sizeIsDeferred) == (len(b"hello hooks"), False)
    assert dict(upload.metaData) == {"tag": tag, "filename": "notes.txt"}
    assert (upload.isPartial, upload.isFinal, list(upload.partialUploads)) == (False, False, [])
    if hook == "pre-create":
        assert dict(upload.storage) == {}
    else:
        assert dict(upload.storage) == told_storage(server, url)
    request = call.http_request
    assert request.method == FIRED_BY[hook]
    assert request.uri == ("/files/" if hook in ("pre-create", "post-create") else f"/files/{upload_id(url)}")
    assert request.remoteAddr.startswith("127.0.0.1:")
    assert request.header["Tus-Resumable"] == "1.0.0"


@BOTH_STORES
def test_offsets_follow_the_bytes(server: LiveServer, service: HookService, tag: str) -> None:
    url = lifecycle(server, tag)

    assert [call.upload.offset for call in service.wait_for("post-create", tag=tag)] == [0]
    assert service.wait_for("post-receive", tag=tag)[-1].upload.offset == 11
    assert [call.upload.offset for call in service.wait_for("post-finish", tag=tag)] == [11]
    [terminated] = service.wait_for("post-terminate", tag=tag)
    assert (terminated.upload.id, terminated.upload.offset) == (upload_id(url), 11)


@BOTH_STORES
def test_a_deferred_length_is_size_zero_and_deferred(server: LiveServer, service: HookService, tag: str) -> None:
    headers = {**TUS, "Upload-Defer-Length": "1", "Upload-Metadata": metadata(tag=tag)}

    assert httpx.post(server.endpoint, headers=headers).status_code == 201

    [call] = service.wait_for("pre-create", tag=tag)
    assert (call.upload.size, call.upload.sizeIsDeferred) == (0, True)


# -- answers ------------------------------------------------------------------------------------------


@BOTH_STORES
def test_reject_upload_refuses_the_creation_with_the_hooks_response(
    server: LiveServer, service: HookService, stubs: tuple[ModuleType, ModuleType], tag: str
) -> None:
    pb2, _ = stubs
    service.answer = answering(
        "pre-create",
        tag,
        pb2.HookResponse(
            rejectUpload=True,
            httpResponse=pb2.HTTPResponse(
                statusCode=403, body=json.dumps({"message": "uploads are closed"}), header={"X-Upload-Window": "closed"}
            ),
        ),
    )
    stored_before = server.stored_names()

    response = create(server, 5, tag)

    assert_refused_as_closed(response)
    assert server.stored_names() == stored_before


@BOTH_STORES
def test_change_file_info_sets_the_id_and_metadata(
    server: LiveServer, service: HookService, stubs: tuple[ModuleType, ModuleType], tag: str
) -> None:
    pb2, _ = stubs
    new_id = f"grpc-{int(time.time() * 1000)}"
    changes = pb2.FileInfoChanges(id=new_id, metaData={"tag": tag, "checked": "yes"})
    service.answer = answering("pre-create", tag, pb2.HookResponse(changeFileInfo=changes))

    response = create(server, 5, tag, filename="x.bin")

    assert response.status_code == 201
    location = response.headers["location"]
    assert location.startswith(server.endpoint)
    assert upload_id(location).partition("+")[0] == new_id  # on S3 the tus id adds the multipart upload's
    stored = head(location).headers["upload-metadata"]
    assert parse_metadata(stored) == {"tag": tag, "checked": "yes"}  # a protobuf map keeps no order
    [told] = service.wait_for("post-create", tag=tag)
    assert told.upload.id == upload_id(location)


@BOTH_STORES
def test_empty_changes_keep_the_id_and_metadata(
    server: LiveServer, service: HookService, stubs: tuple[ModuleType, ModuleType], tag: str
) -> None:
    pb2, _ = stubs
    service.answer = answering("pre-create", tag, pb2.HookResponse(changeFileInfo=pb2.FileInfoChanges()))

    response = create(server, 5, tag, filename="kept.bin")

    assert response.status_code == 201
    assert head(response.headers["location"]).headers["upload-metadata"] == metadata(tag=tag, filename="kept.bin")


@BOTH_STORES
def test_pre_finish_headers_reach_the_last_patch(
    server: LiveServer, service: HookService, stubs: tuple[ModuleType, ModuleType], tag: str
) -> None:
    pb2, _ = stubs
    answer = pb2.HookResponse(httpResponse=pb2.HTTPResponse(header={"X-Next-Step": "review"}))
    service.answer = answering("pre-finish", tag, answer)
    url = create(server, 3, tag).headers["location"]

    response = patch(url, 0, b"abc")

    assert response.status_code == 204
    assert response.headers["x-next-step"] == "review"


def test_stop_upload_from_post_receive_ends_a_streaming_patch(
    server: LiveServer, service: HookService, stubs: tuple[ModuleType, ModuleType], tag: str
) -> None:
    pb2, _ = stubs
    stop = pb2.HookResponse(stopUpload=True, httpResponse=pb2.HTTPResponse(statusCode=413, body="quota exceeded"))
    service.answer = answering("post-receive", tag, stop)
    pieces = 50
    url = create(server, pieces * BLOCK, tag).headers["location"]

    response = patch(url, 0, paced_body(pieces, BLOCK))

    assert response.status_code == 413
    assert response.json()["error_code"] == "upload_stopped"
    assert response.json()["error_message"] == "quota exceeded"
    assert head(url).status_code == 410
    assert service.of("post-receive", tag=tag)[0].upload.offset < pieces * BLOCK
    service.wait_for("post-terminate", tag=tag)


def test_an_answer_out_of_shape_is_a_failed_hook(
    server: LiveServer, service: HookService, stubs: tuple[ModuleType, ModuleType], tag: str
) -> None:
    pb2, _ = stubs
    service.answer = answering(
        "pre-create", tag, pb2.HookResponse(rejectUpload=True, httpResponse=pb2.HTTPResponse(statusCode=42))
    )

    response = create(server, 5, tag)

    assert response.status_code == 502
    assert response.json()["error_code"] == "hook_failed"
    assert "StatusCode" in response.json()["error_message"]


# -- failures and retries -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED])
def test_unavailable_and_exhausted_are_retried_after_the_backoff(
    server: LiveServer, service: HookService, tag: str, code: grpc.StatusCode
) -> None:
    def flaky(call: Call) -> Fail | None:
        mine = call.hook == "pre-create" and call.tag == tag
        return Fail(code) if mine and len(service.of("pre-create", tag=tag)) <= RETRIES else None

    service.answer = flaky

    response = create(server, 5, tag)

    assert response.status_code == 201
    attempts = service.of("pre-create", tag=tag)
    assert len(attempts) == RETRIES + 1
    assert all(later.arrived - earlier.arrived >= BACKOFF for earlier, later in itertools.pairwise(attempts))


def test_a_service_that_stays_unavailable_fails_the_hook_after_every_retry(
    server: LiveServer, service: HookService, tag: str
) -> None:
    service.answer = answering("pre-create", tag, Fail(grpc.StatusCode.UNAVAILABLE, "draining"))

    response = create(server, 5, tag)

    assert response.status_code == 502
    assert response.json()["error_code"] == "hook_failed"
    assert "UNAVAILABLE: draining" in response.json()["error_message"]
    assert len(service.of("pre-create", tag=tag)) == RETRIES + 1


@pytest.mark.parametrize("code", [grpc.StatusCode.INTERNAL, grpc.StatusCode.PERMISSION_DENIED])
def test_other_errors_are_not_retried(
    server: LiveServer, service: HookService, tag: str, code: grpc.StatusCode
) -> None:
    service.answer = answering("pre-create", tag, Fail(code))

    response = create(server, 5, tag)

    assert response.status_code == 502
    assert code.name in response.json()["error_message"]
    assert len(service.of("pre-create", tag=tag)) == 1


def test_a_call_past_its_deadline_fails_the_hook_without_a_retry(
    server: LiveServer, service: HookService, tag: str
) -> None:
    def slow(call: Call) -> None:
        if call.hook == "pre-create" and call.tag == tag:
            time.sleep(TIMEOUT + 0.5)

    service.answer = slow
    started = time.monotonic()

    response = create(server, 5, tag)

    assert response.status_code == 502
    assert "DEADLINE_EXCEEDED" in response.json()["error_message"]
    assert TIMEOUT * 0.9 <= time.monotonic() - started < TIMEOUT + 1.0
    assert len(service.of("pre-create", tag=tag)) == 1


def test_a_service_that_starts_late_is_reached_by_a_retry(tmp_path: Path, stubs: tuple[ModuleType, ModuleType]) -> None:
    port = free_port()  # nothing listens yet: the first attempt is refused by the network (UNAVAILABLE)
    server = grpc_hooked(tmp_path, f"127.0.0.1:{port}", "--hooks-grpc-retry", "20", "--hooks-grpc-backoff", "100ms")
    late: HookService | None = None
    try:
        answered: list[httpx.Response] = []
        posting = threading.Thread(target=lambda: answered.append(create(server, 5, "late")))
        posting.start()
        wait_until(lambda: "pre-create hook to" in server.log())  # the first attempt failed
        late = HookService(*stubs, port=port).start()
        posting.join(10)

        assert answered[0].status_code == 201
        assert late.wait_for("pre-create")
    finally:
        server.stop()
        if late is not None:
            late.stop()


# -- only the enabled hooks ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory, service: HookService) -> Iterator[LiveServer]:
    server = grpc_hooked(
        tmp_path_factory.mktemp("strict-grpc-hooks"), service.target, "--hooks-enabled-events", ",".join(SOME_HOOKS)
    )
    yield server
    server.stop()


def test_only_the_enabled_hooks_are_invoked(strict_server: LiveServer, service: HookService, tag: str) -> None:
    lifecycle(strict_server, tag)
    service.wait_for("post-finish", tag=tag)
    # A later upload's post-create comes after anything the first one's requests could have sent.
    create(strict_server, 1, f"{tag}-marker")
    service.wait_for("post-create", tag=f"{tag}-marker")

    assert {call.hook for call in service.calls if call.tag == tag} == set(SOME_HOOKS)


def test_serve_refuses_a_grpc_target_without_grpcio(tmp_path: Path) -> None:
    # A python whose `grpc` cannot be imported, as after `pip install tusd_py` without the extra.
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "grpc.py").write_text("raise ImportError('No module named grpc')\n")
    server = LiveServer(
        tmp_path / "up", tmp_path / "log", "--hooks-grpc", "127.0.0.1:1", env={"PYTHONPATH": str(blocker)}
    )
    with pytest.raises(RuntimeError, match=r"tusd_py\[grpc\]"):
        server.start(timeout=10)


def test_pre_create_may_answer_the_creation_with_its_status_and_body(
    server: LiveServer, service: HookService, stubs: tuple[ModuleType, ModuleType], tag: str
) -> None:
    pb2, _ = stubs
    said = pb2.HTTPResponse(statusCode=200, body="created for review", header={"X-Review": "queued"})
    service.answer = answering("pre-create", tag, pb2.HookResponse(httpResponse=said))

    response = create(server, 5, tag)

    assert (response.status_code, response.text, response.headers["x-review"]) == (200, "created for review", "queued")
    assert head(response.headers["location"]).headers["upload-offset"] == "0"  # made all the same
