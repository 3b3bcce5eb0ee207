"""HTTP hooks between two real processes: `tusd-py serve --hooks-http URL` POSTs tusd's JSON to a real endpoint,
retries it, times it out, and reads what it answers."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hooks.conftest import FIRED_BY
from tests.hooks.live import (
    assert_refused_as_closed,
    create,
    delete,
    head,
    lifecycle,
    metadata,
    paced_body,
    patch,
    told_storage,
)
from tests.hooks.receiver import Answer, Delivery, HookReceiver, Reply, ok
from tests.support.live_server import LiveServer
from tests.support.s3_server import start_on_store
from tests.support.tus import upload_id

EVERY_HOOK = "pre-create,post-create,post-receive,pre-finish,post-finish,pre-terminate,post-terminate"
RETRIES = 2
BACKOFF = 0.05
TIMEOUT = 1.0
BLOCK = 64 * 1024  # the server's write block: storage reports, and post-receive may fire, every 64 KiB


BOTH_STORES = pytest.mark.stores("file", "s3")  # what a hook is told of an upload and does to it; retries and
# timeouts are the hook transport's, where no store takes part: those run on files alone


def hooked_server(
    root: Path, receiver: HookReceiver, *args: str, store_kind: str, request: pytest.FixtureRequest
) -> LiveServer:
    return start_on_store(store_kind, request, root, "--hooks-http", receiver.url, *args)


@pytest.fixture(scope="module")
def receiver() -> Iterator[HookReceiver]:
    receiver = HookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, receiver: HookReceiver, store_kind: str, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    """Every hook enabled, two retries 50 ms apart (doubling), a 1 s timeout, post-receive every 50 ms."""
    server = hooked_server(
        tmp_path_factory.mktemp(f"http-hooks-{store_kind}"),
        receiver,
        "--hooks-enabled-events", EVERY_HOOK,
        "--hooks-http-retry", str(RETRIES),
        "--hooks-http-backoff", f"{BACKOFF}s",
        "--hooks-timeout", f"{TIMEOUT}s",
        "--hooks-progress-interval", "50ms",
        "--write-block-size", "64KiB",
        store_kind=store_kind,
        request=request,
    )  # fmt: skip
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def default_answers(receiver: HookReceiver) -> Iterator[None]:
    receiver.answer = ok
    yield
    receiver.answer = ok


def answering(hook: str, tag: str, reply: Reply) -> Answer:
    return lambda delivery: reply if delivery.hook == hook and delivery.metadata.get("tag") == tag else Reply()


# -- delivery ----------------------------------------------------------------------------------------


@BOTH_STORES
@pytest.mark.parametrize("hook", list(FIRED_BY))
def test_every_hook_is_posted_as_tusd_json(server: LiveServer, receiver: HookReceiver, tag: str, hook: str) -> None:
    url = lifecycle(server, tag)

    [delivery, *_] = receiver.wait_for(hook, tag=tag)
    assert delivery.path == "/hooks"
    assert delivery.headers["content-type"] == "application/json"
    assert set(delivery.body) == {"Type", "Event"}
    assert set(delivery.body["Event"]) == {"Upload", "HTTPRequest"}
    assert delivery.hook == hook
    assert delivery.upload["ID"] == ("" if hook == "pre-create" else upload_id(url))
    assert delivery.upload["Size"] == len(b"hello hooks")
    assert delivery.metadata == {"tag": tag, "filename": "notes.txt"}
    request = delivery.http_request
    assert request["Method"] == FIRED_BY[hook]
    assert request["URI"] == ("/files/" if hook in ("pre-create", "post-create") else f"/files/{upload_id(url)}")
    assert request["RemoteAddr"].startswith("127.0.0.1:")
    assert request["Header"]["Tus-Resumable"] == ["1.0.0"]


@BOTH_STORES
def test_a_finished_upload_is_told_where_it_is_stored(server: LiveServer, receiver: HookReceiver, tag: str) -> None:
    url = lifecycle(server, tag)

    [delivery] = receiver.wait_for("post-finish", tag=tag)
    assert delivery.upload["Storage"] == told_storage(server, url)
    assert (delivery.upload["Offset"], delivery.upload["Size"]) == (11, 11)


# -- answers ------------------------------------------------------------------------------------------


@BOTH_STORES
def test_a_pre_create_rejection_reaches_the_client(server: LiveServer, receiver: HookReceiver, tag: str) -> None:
    receiver.answer = answering(
        "pre-create",
        tag,
        Reply(
            body={
                "RejectUpload": True,
                "HTTPResponse": {
                    "StatusCode": 403,
                    "Body": json.dumps({"message": "uploads are closed"}),
                    "Header": {"X-Upload-Window": "closed"},
                },
            }
        ),
    )
    stored_before = server.stored_names()

    response = create(server, 5, tag)

    assert_refused_as_closed(response)
    assert server.stored_names() == stored_before


@BOTH_STORES
def test_change_file_info_sets_the_id_and_metadata(server: LiveServer, receiver: HookReceiver, tag: str) -> None:
    new_id = f"doc-{int(time.time() * 1000)}"
    receiver.answer = answering(
        "pre-create", tag, Reply(body={"ChangeFileInfo": {"ID": new_id, "MetaData": {"tag": tag, "checked": "yes"}}})
    )

    response = create(server, 5, tag, filename="x.bin")

    assert response.status_code == 201
    location = response.headers["location"]
    assert location.startswith(server.endpoint)
    assert upload_id(location).partition("+")[0] == new_id  # on S3 the tus id adds the multipart upload's
    described = head(location)
    assert described.headers["upload-metadata"] == metadata(tag=tag, checked="yes")
    [told] = receiver.wait_for("post-create", tag=tag)
    assert told.upload["ID"] == upload_id(location)


@BOTH_STORES
def test_pre_finish_headers_reach_the_last_patch(server: LiveServer, receiver: HookReceiver, tag: str) -> None:
    receiver.answer = answering("pre-finish", tag, Reply(body={"HTTPResponse": {"Header": {"X-Next-Step": "review"}}}))
    url = create(server, 3, tag).headers["location"]

    response = patch(url, 0, b"abc")

    assert response.status_code == 204
    assert response.headers["x-next-step"] == "review"


@BOTH_STORES
def test_a_pre_terminate_rejection_keeps_the_upload(server: LiveServer, receiver: HookReceiver, tag: str) -> None:
    receiver.answer = answering(
        "pre-terminate", tag, Reply(body={"RejectTermination": True, "HTTPResponse": {"StatusCode": 409}})
    )
    url = create(server, 3, tag).headers["location"]

    response = delete(url)

    assert response.status_code == 409
    assert response.json()["error_code"] == "termination_rejected"
    assert head(url).status_code == 200


def test_stop_upload_from_post_receive_ends_a_streaming_patch(
    server: LiveServer, receiver: HookReceiver, tag: str
) -> None:
    receiver.answer = answering(
        "post-receive", tag, Reply(body={"StopUpload": True, "HTTPResponse": {"Body": "quota exceeded"}})
    )
    pieces = 50
    url = create(server, pieces * BLOCK, tag).headers["location"]

    response = patch(url, 0, paced_body(pieces, BLOCK))

    assert response.status_code == 400
    assert response.json()["error_code"] == "upload_stopped"
    assert response.json()["error_message"] == "quota exceeded"
    assert head(url).status_code == 410
    [stopped, *_] = receiver.of("post-receive", tag=tag)
    assert stopped.upload["Offset"] < pieces * BLOCK  # the server stopped storing long before the end
    receiver.wait_for("post-terminate", tag=tag)


# -- failures, retries, timeouts ---------------------------------------------------------------------------


def test_a_5xx_is_retried_with_back_off_until_it_succeeds(server: LiveServer, receiver: HookReceiver, tag: str) -> None:
    def flaky(delivery: Delivery) -> Reply:
        mine = delivery.hook == "pre-create" and delivery.metadata.get("tag") == tag
        return Reply(status=503) if mine and len(receiver.of("pre-create", tag=tag)) <= RETRIES else Reply()

    receiver.answer = flaky

    response = create(server, 5, tag)

    assert response.status_code == 201
    attempts = receiver.of("pre-create", tag=tag)
    assert len(attempts) == RETRIES + 1
    gaps = [later.arrived - earlier.arrived for earlier, later in itertools.pairwise(attempts)]
    # Each wait is the back-off, doubled at each retry, with up to half of it taken off at random.
    assert gaps[0] >= BACKOFF * 0.5
    assert gaps[1] >= BACKOFF * 2 * 0.5


def test_a_hook_that_keeps_failing_is_502_after_every_retry(
    server: LiveServer, receiver: HookReceiver, tag: str
) -> None:
    receiver.answer = answering("pre-create", tag, Reply(status=500, body="boom", content_type="text/plain"))

    response = create(server, 5, tag)

    assert response.status_code == 502
    body = response.json()
    assert body["error_code"] == "hook_failed"
    assert "status 500" in body["error_message"]
    assert body["details"] == {"hook": "pre-create"}
    assert len(receiver.of("pre-create", tag=tag)) == RETRIES + 1


def test_a_4xx_from_the_endpoint_is_not_retried(server: LiveServer, receiver: HookReceiver, tag: str) -> None:
    receiver.answer = answering("pre-create", tag, Reply(status=404, body={"error": "no such hook"}))

    response = create(server, 5, tag)

    assert response.status_code == 502
    assert response.json()["error_code"] == "hook_failed"
    assert len(receiver.of("pre-create", tag=tag)) == 1


@pytest.mark.parametrize("content_type", ["text/plain", "text/html; charset=utf-8"])
def test_an_answer_that_is_not_json_is_a_failed_hook(
    server: LiveServer, receiver: HookReceiver, tag: str, content_type: str
) -> None:
    receiver.answer = answering("pre-create", tag, Reply(body='{"RejectUpload": false}', content_type=content_type))

    response = create(server, 5, tag)

    assert response.status_code == 502
    assert response.json()["error_code"] == "hook_failed"
    assert "application/json" in response.json()["error_message"]


def test_a_json_answer_of_the_wrong_shape_is_a_failed_hook(
    server: LiveServer, receiver: HookReceiver, tag: str
) -> None:
    receiver.answer = answering("pre-create", tag, Reply(body={"RejectUpload": "please"}))

    response = create(server, 5, tag)

    assert response.status_code == 502
    assert "RejectUpload" in response.json()["error_message"]


def test_a_failing_post_hook_is_retried_and_never_fails_the_upload(
    server: LiveServer, receiver: HookReceiver, tag: str
) -> None:
    receiver.answer = answering("post-create", tag, Reply(status=500))

    response = create(server, 5, tag)

    assert response.status_code == 201
    receiver.wait_for("post-create", RETRIES + 1, tag=tag)


def test_an_endpoint_that_trickles_its_answer_is_cut_off_by_the_timeout(
    server: LiveServer, receiver: HookReceiver, tag: str
) -> None:
    receiver.answer = answering("pre-create", tag, Reply(trickle=0.2))
    started = time.monotonic()

    response = create(server, 5, tag)

    elapsed = time.monotonic() - started
    assert response.status_code == 502
    assert response.json()["error_code"] == "hook_failed"
    # Each attempt is cut at the timeout, however steadily the endpoint sends bytes.
    assert elapsed < (RETRIES + 1) * TIMEOUT + 2.0


# -- a server with no retries and only some hooks enabled ------------------------------------------------------

SOME_HOOKS = ["pre-create", "post-create", "post-finish"]


@pytest.fixture(scope="module")
def strict_server(
    tmp_path_factory: pytest.TempPathFactory, receiver: HookReceiver, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    """No retries, a 1 s timeout, and only pre-create, post-create and post-finish sent."""
    server = hooked_server(
        tmp_path_factory.mktemp("strict-http-hooks"),
        receiver,
        "--hooks-enabled-events", ",".join(SOME_HOOKS),
        "--hooks-http-retry", "0",
        "--hooks-timeout", f"{TIMEOUT}s",
        store_kind="file",
        request=request,
    )  # fmt: skip
    yield server
    server.stop()


def test_an_endpoint_that_never_answers_fails_pre_create_at_the_timeout(
    strict_server: LiveServer, receiver: HookReceiver, tag: str
) -> None:
    receiver.answer = answering("pre-create", tag, Reply(hang=True))
    started = time.monotonic()

    response = create(strict_server, 5, tag)

    elapsed = time.monotonic() - started
    assert response.status_code == 502
    assert response.json()["error_code"] == "hook_failed"
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + 1.5
    assert len(receiver.of("pre-create", tag=tag)) == 1


def test_an_endpoint_that_never_answers_post_create_does_not_slow_the_upload(
    strict_server: LiveServer, receiver: HookReceiver, tag: str
) -> None:
    receiver.answer = answering("post-create", tag, Reply(hang=True))
    started = time.monotonic()

    created = create(strict_server, 3, tag)
    patched = patch(created.headers["location"], 0, b"abc")

    assert time.monotonic() - started < TIMEOUT / 2
    assert (created.status_code, patched.status_code) == (201, 204)
    receiver.wait_for("post-create", tag=tag)  # it was sent: the upload just did not wait for its answer


def test_only_the_enabled_hooks_are_sent(strict_server: LiveServer, receiver: HookReceiver, tag: str) -> None:
    lifecycle(strict_server, tag)
    receiver.wait_for("post-finish", tag=tag)

    # A later upload's post-create comes after anything the first one's requests could have sent.
    create(strict_server, 1, f"{tag}-marker")
    receiver.wait_for("post-create", tag=f"{tag}-marker")

    sent = {delivery.hook for delivery in receiver.deliveries if delivery.metadata.get("tag") == tag}
    assert sent == set(SOME_HOOKS)


def test_a_disabled_pre_terminate_cannot_refuse(strict_server: LiveServer, receiver: HookReceiver, tag: str) -> None:
    receiver.answer = answering("pre-terminate", tag, Reply(body={"RejectTermination": True}))
    url = create(strict_server, 3, tag).headers["location"]

    assert delete(url).status_code == 204


# -- a hook service written for tusd ----------------------------------------------------------------------------


def tusd_style_service(tag: str) -> Answer:
    """Answers as a service built on tusd's own Go types does: every field present, unset ones as zero values."""

    def answer(delivery: Delivery) -> Reply:
        response: dict[str, object] = {
            "HTTPResponse": {"StatusCode": 0, "Body": "", "Header": None},
            "RejectUpload": False,
            "RejectTermination": False,
            "ChangeFileInfo": {"ID": "", "MetaData": None, "Storage": None},
            "StopUpload": False,
        }
        event = delivery.body["Event"]
        metadata = event["Upload"]["MetaData"]
        mine = delivery.body["Type"] == "pre-create" and metadata.get("tag") == tag
        if mine and not metadata.get("filename", "").endswith(".pdf"):
            response["RejectUpload"] = True
            response["HTTPResponse"] = {
                "StatusCode": 400,
                "Body": '{"message":"only PDF files may be uploaded"}',
                "Header": {"Content-Type": "application/json"},
            }
        return Reply(body=response)

    return answer


def test_a_tusd_hook_service_accepts_with_its_zero_values(server: LiveServer, receiver: HookReceiver, tag: str) -> None:
    receiver.answer = tusd_style_service(tag)

    created = create(server, 8, tag, filename="report.pdf")
    url = created.headers["location"]
    patched = patch(url, 0, b"%PDF-1.7")
    deleted = delete(url)

    # Every hook on the way answered with zero values, and none of them was taken for a refusal.
    assert (created.status_code, patched.status_code, deleted.status_code) == (201, 204, 204)
    assert {delivery.hook for delivery in receiver.deliveries if delivery.metadata.get("tag") == tag} >= {
        "pre-create",
        "pre-finish",
        "pre-terminate",
    }


def test_a_tusd_hook_service_refuses_with_its_own_response(
    server: LiveServer, receiver: HookReceiver, tag: str
) -> None:
    receiver.answer = tusd_style_service(tag)

    response = create(server, 8, tag, filename="photo.png")

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error_message"] == "only PDF files may be uploaded"


def test_framing_headers_from_a_hook_cannot_break_the_answer(
    server: LiveServer, receiver: HookReceiver, tag: str
) -> None:
    framing = {"Content-Length": "3", "Transfer-Encoding": "chunked", "Connection": "close"}
    receiver.answer = answering(
        "pre-create",
        tag,
        Reply(body={"RejectUpload": True, "HTTPResponse": {"StatusCode": 403, "Header": {**framing, "X-Kept": "yes"}}}),
    )

    response = create(server, 5, tag)

    assert response.status_code == 403
    assert response.json()["error_code"] == "upload_rejected"
    assert response.headers["x-kept"] == "yes"
    assert response.headers["content-length"] == str(len(response.content))


# -- an answer that lets the request go on shapes it, as in tusd ---------------------------------------------


def test_pre_finish_may_answer_the_last_patch_with_its_status_and_body(
    server: LiveServer, receiver: HookReceiver, tag: str
) -> None:
    said = {"StatusCode": 200, "Body": '{"review": "queued"}', "Header": {"Content-Type": "application/json"}}
    receiver.answer = answering("pre-finish", tag, Reply(body={"HTTPResponse": said}))
    url = create(server, 3, tag).headers["location"]

    response = patch(url, 0, b"abc")

    assert (response.status_code, response.json()) == (200, {"review": "queued"})
    assert response.headers["upload-offset"] == "3"


def test_pre_terminate_may_answer_a_deletion_it_allows(server: LiveServer, receiver: HookReceiver, tag: str) -> None:
    said = {"StatusCode": 202, "Body": "archived first", "Header": {"X-Archive": "cold"}}
    receiver.answer = answering("pre-terminate", tag, Reply(body={"RejectTermination": False, "HTTPResponse": said}))
    url = create(server, 3, tag).headers["location"]

    response = delete(url)

    assert (response.status_code, response.text, response.headers["x-archive"]) == (202, "archived first", "cold")
    assert head(url).status_code in (404, 410)
