"""The gRPC hook messages: a HookRequest becomes tusd's protobuf request, and tusd's protobuf response becomes a
HookResponse read exactly as its JSON twin is."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tusd_py.hooks.grpc_hooks import hook_answer, hook_message
from tusd_py.hooks.models import ChangeFileInfo, HookFailed, HookRequest, HookResponse, HookType, RequestOrigin
from tusd_py.hooks.proto import hook_pb2
from tusd_py.protocol.info import UploadInfo


def request(**changes: Any) -> HookRequest:
    origin = RequestOrigin(
        "POST", "/files/?x=1", "127.0.0.1:5000", [("tus-resumable", "1.0.0"), ("x-tag", "a"), ("x-tag", "b")]
    )
    info = replace(UploadInfo(id="", size=10, metadata={"filename": "a.txt"}), **changes)
    return HookRequest(HookType.PRE_CREATE, info, origin)


def test_a_header_sent_several_times_carries_its_first_value_as_tusd_sends_it() -> None:
    header = hook_message(request()).event.httpRequest.header

    assert dict(header) == {"Tus-Resumable": "1.0.0", "X-Tag": "a"}


def test_the_request_fields_match_the_hook_json() -> None:
    message = hook_message(request(is_partial=True))

    assert message.type == "pre-create"
    upload = message.event.upload
    assert (upload.id, upload.size, upload.sizeIsDeferred, upload.offset) == ("", 10, False, 0)
    assert (dict(upload.metaData), upload.isPartial, dict(upload.storage)) == ({"filename": "a.txt"}, True, {})
    http = message.event.httpRequest
    assert (http.method, http.uri, http.remoteAddr) == ("POST", "/files/?x=1", "127.0.0.1:5000")


def test_a_deferred_length_is_size_zero_and_deferred() -> None:
    upload = hook_message(request(size=None)).event.upload

    assert (upload.size, upload.sizeIsDeferred) == (0, True)


def test_a_final_upload_lists_its_partials_in_order() -> None:
    upload = hook_message(request(is_final=True, partial_uploads=["b", "a"])).event.upload

    assert (upload.isFinal, list(upload.partialUploads)) == (True, ["b", "a"])


def test_a_hook_without_a_request_sends_an_empty_http_request() -> None:
    message = hook_message(HookRequest(HookType.POST_FINISH, UploadInfo(id="u", size=1), None))

    http = message.event.httpRequest
    assert (http.method, http.uri, http.remoteAddr, dict(http.header)) == ("", "", "", {})


def test_an_empty_answer_lets_the_request_go_on() -> None:
    assert hook_answer(hook_pb2.HookResponse()) == HookResponse()


def test_zero_values_mean_not_set() -> None:
    message = hook_pb2.HookResponse(
        httpResponse=hook_pb2.HTTPResponse(statusCode=0, body=""),
        changeFileInfo=hook_pb2.FileInfoChanges(id="", metaData={}),
    )

    answer = hook_answer(message)

    assert (answer.http_response.status_code, answer.http_response.body) == (None, None)
    assert answer.change_file_info == ChangeFileInfo(id=None, metadata=None)


def test_every_field_of_an_answer_is_read() -> None:
    message = hook_pb2.HookResponse(
        rejectUpload=True,
        stopUpload=True,
        httpResponse=hook_pb2.HTTPResponse(statusCode=403, body="no", header={"X-Why": "closed"}),
        changeFileInfo=hook_pb2.FileInfoChanges(id="new-id", metaData={"k": "v"}),
    )

    answer = hook_answer(message)

    assert (answer.reject_upload, answer.stop_upload, answer.reject_termination) == (True, True, False)
    assert (answer.http_response.status_code, answer.http_response.body) == (403, "no")
    assert answer.http_response.headers == {"X-Why": "closed"}
    assert answer.change_file_info == ChangeFileInfo(id="new-id", metadata={"k": "v"})


@pytest.mark.parametrize("status", [42, 600, -1, 2**40])
def test_a_status_that_is_not_http_is_a_failed_hook(status: int) -> None:
    with pytest.raises(HookFailed, match="StatusCode"):
        hook_answer(hook_pb2.HookResponse(httpResponse=hook_pb2.HTTPResponse(statusCode=status)))
