"""tusd's hook JSON: requests are built in its exact shape, and responses that are not that shape are failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tusd_py.hooks.models import HookFailed, HookRequest, HookResponse, HookType, RequestOrigin
from tusd_py.protocol.info import UploadInfo

MALFORMED: dict[str, Any] = {
    "a list": [],
    "a string": "ok",
    "a number": 1,
    "RejectUpload as a string": {"RejectUpload": "yes"},
    "RejectUpload as a number": {"RejectUpload": 1},
    "RejectTermination as null": {"RejectTermination": None},
    "StopUpload as a string": {"StopUpload": "true"},
    "HTTPResponse as a list": {"HTTPResponse": []},
    "StatusCode as a string": {"HTTPResponse": {"StatusCode": "403"}},
    "StatusCode as a boolean": {"HTTPResponse": {"StatusCode": True}},
    "StatusCode below 100": {"HTTPResponse": {"StatusCode": 42}},
    "StatusCode above 599": {"HTTPResponse": {"StatusCode": 600}},
    "StatusCode as a float": {"HTTPResponse": {"StatusCode": 403.5}},
    "Body as an object": {"HTTPResponse": {"Body": {"message": "no"}}},
    "Header as a list": {"HTTPResponse": {"Header": [["X-A", "1"]]}},
    "a Header value as a number": {"HTTPResponse": {"Header": {"X-A": 1}}},
    "a Header value as a list": {"HTTPResponse": {"Header": {"X-A": ["1"]}}},
    "ChangeFileInfo as a string": {"ChangeFileInfo": "abc"},
    "ChangeFileInfo.ID as a number": {"ChangeFileInfo": {"ID": 123}},
    "ChangeFileInfo.ID as zero": {"ChangeFileInfo": {"ID": 0}},
    "ChangeFileInfo.ID as a list": {"ChangeFileInfo": {"ID": ["abc"]}},
    "ChangeFileInfo.MetaData as a list": {"ChangeFileInfo": {"MetaData": ["a"]}},
    "a MetaData value as a number": {"ChangeFileInfo": {"MetaData": {"size": 3}}},
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_response_is_a_hook_failure(data: Any) -> None:
    with pytest.raises(HookFailed):
        HookResponse.from_json(data)


@pytest.mark.parametrize("text", ["not json", "{", "[1, 2", "<html></html>"])
def test_a_response_that_is_not_json_is_a_hook_failure(text: str) -> None:
    with pytest.raises(HookFailed, match="not JSON"):
        HookResponse.from_text(text)


@pytest.mark.parametrize("text", ["", "  \n", b""])
def test_an_empty_response_lets_the_request_go_on(text: str | bytes) -> None:
    assert HookResponse.from_text(text) == HookResponse()


def test_null_and_an_empty_object_let_the_request_go_on() -> None:
    assert HookResponse.from_json(None) == HookResponse()
    assert HookResponse.from_json({}) == HookResponse()


def test_every_field_of_a_tusd_response_is_read() -> None:
    response = HookResponse.from_json(
        {
            "HTTPResponse": {"StatusCode": 403, "Body": '{"message":"no"}', "Header": {"X-Reason": "quota"}},
            "RejectUpload": True,
            "RejectTermination": True,
            "StopUpload": True,
            "ChangeFileInfo": {"ID": "chosen-id", "MetaData": {"filename": "a.txt"}, "Storage": {"Path": "x"}},
        }
    )

    assert response.http_response.status_code == 403
    assert response.http_response.body == '{"message":"no"}'
    assert response.http_response.headers == {"X-Reason": "quota"}
    assert (response.reject_upload, response.reject_termination, response.stop_upload) == (True, True, True)
    assert response.change_file_info is not None
    assert response.change_file_info.id == "chosen-id"
    assert response.change_file_info.metadata == {"filename": "a.txt"}


def test_the_zero_values_a_go_hook_service_sends_mean_nothing_was_said() -> None:
    # A hook service built on tusd's own Go types serialises every field, unset ones as zero values.
    go_empty = {
        "HTTPResponse": {"StatusCode": 0, "Body": "", "Header": None},
        "RejectUpload": False,
        "RejectTermination": False,
        "StopUpload": False,
        "ChangeFileInfo": {"ID": "", "MetaData": None, "Storage": None},
    }

    response = HookResponse.from_json(go_empty)

    assert response.http_response.status_code is None
    assert not response.http_response.body
    assert response.http_response.headers == {}
    assert not (response.reject_upload or response.reject_termination or response.stop_upload)
    assert response.change_file_info is not None
    assert response.change_file_info.id is None and response.change_file_info.metadata is None


def _upload(**fields: Any) -> UploadInfo:
    values: dict[str, Any] = {"id": "abc123", "size": 10, "offset": 4, "metadata": {"filename": "a.txt"}}
    values.update(fields)
    return UploadInfo(**values)


def test_a_request_has_tusd_shape() -> None:
    origin = RequestOrigin(
        method="PATCH",
        uri="/files/abc123?x=1",
        remote_addr="10.0.0.1:5555",
        headers=[("tus-resumable", "1.0.0"), ("upload-offset", "0")],
    )
    request = HookRequest(HookType.POST_RECEIVE, _upload(), origin, {"Type": "filestore", "Path": "/d/abc123"})

    assert request.to_json() == {
        "Type": "post-receive",
        "Event": {
            "Upload": {
                "ID": "abc123",
                "Size": 10,
                "SizeIsDeferred": False,
                "Offset": 4,
                "MetaData": {"filename": "a.txt"},
                "IsPartial": False,
                "IsFinal": False,
                "PartialUploads": None,
                "Storage": {"Type": "filestore", "Path": "/d/abc123"},
            },
            "HTTPRequest": {
                "Method": "PATCH",
                "URI": "/files/abc123?x=1",
                "RemoteAddr": "10.0.0.1:5555",
                "Header": {"Tus-Resumable": ["1.0.0"], "Upload-Offset": ["0"]},
            },
        },
    }


def test_the_request_bytes_are_the_same_json() -> None:
    request = HookRequest(HookType.PRE_CREATE, _upload(id=""), None)

    assert json.loads(request.to_bytes()) == request.to_json()


def test_a_deferred_length_is_size_zero_and_deferred() -> None:
    upload = HookRequest(HookType.POST_CREATE, _upload(size=None, offset=0), None).to_json()["Event"]["Upload"]

    assert (upload["Size"], upload["SizeIsDeferred"]) == (0, True)


def test_a_final_upload_lists_its_partials() -> None:
    info = _upload(is_final=True, partial_uploads=["p1", "p2"])
    upload = HookRequest(HookType.POST_FINISH, info, None).to_json()["Event"]["Upload"]

    assert (upload["IsFinal"], upload["PartialUploads"]) == (True, ["p1", "p2"])


def test_without_a_request_the_http_request_is_empty() -> None:
    # A final upload assembled when its last partial finishes has no request of its own.
    http_request = HookRequest(HookType.PRE_FINISH, _upload(), None).to_json()["Event"]["HTTPRequest"]

    assert http_request == {"Method": "", "URI": "", "RemoteAddr": "", "Header": {}}


def test_headers_get_canonical_names_and_lists_of_values() -> None:
    origin = RequestOrigin(
        "POST",
        "/files/",
        "",
        [("x-api-key", "k"), ("UPLOAD-METADATA", "a b"), ("x-tag", "one"), ("X-Tag", "two"), ("dnt", "1")],
    )

    assert origin.header_lists() == {
        "X-Api-Key": ["k"],
        "Upload-Metadata": ["a b"],
        "X-Tag": ["one", "two"],
        "Dnt": ["1"],
    }


def test_only_the_pre_hooks_block() -> None:
    assert {hook.value for hook in HookType if hook.blocking} == {"pre-create", "pre-finish", "pre-terminate"}
