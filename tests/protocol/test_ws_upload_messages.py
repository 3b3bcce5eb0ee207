"""The WebSocket upload protocol's messages, parsed and built without a server."""

from __future__ import annotations

import json

import pytest

from tusd_py.protocol.errors import TusError
from tusd_py.protocol.ws_upload import (
    Create,
    DeclareLength,
    Ping,
    Resume,
    Segment,
    creation_request,
    error_message,
    parse_client_message,
    progress_message,
)

BOUNDS = {"max_size": 1000, "max_metadata_pairs": 4, "max_metadata_size": 200}


def parsed(message: object) -> object:
    return parse_client_message(json.dumps(message))


def refusal(text: str) -> TusError:
    with pytest.raises(TusError) as caught:
        parse_client_message(text)
    return caught.value


def test_a_create_message_gathers_its_fields_into_metadata() -> None:
    message = parsed(
        {
            "type": "create",
            "size": 10,
            "filename": "a.png",
            "content_type": "image/png",
            "batch": "b1",
            "batch_total": 3,
            "metadata": {"album": "summer"},
        }
    )

    assert message == Create(
        10, {"album": "summer", "filename": "a.png", "filetype": "image/png", "batch": "b1", "batch_total": "3"}
    )


def test_a_create_message_without_a_size_defers_the_length() -> None:
    assert parsed({"type": "create"}) == Create(None, {})
    assert parsed({"type": "create", "size": None}) == Create(None, {})


@pytest.mark.parametrize("size", [-1, 1.5, "10", True, 2**63])
def test_a_size_must_be_a_non_negative_integer(size: object) -> None:
    error = refusal(json.dumps({"type": "create", "size": size}))

    assert (error.status, error.code, error.details) == (400, "invalid_message", {"field": "size"})


@pytest.mark.parametrize(
    "metadata", [[], "text", {"a": 1}, {"a": None}], ids=["list", "string", "number value", "null value"]
)
def test_metadata_must_be_an_object_of_strings(metadata: object) -> None:
    assert refusal(json.dumps({"type": "create", "size": 1, "metadata": metadata})).details == {"field": "metadata"}


@pytest.mark.parametrize(
    "text", ["", "not json", "[]", "3", '"create"', '{"type": "upload"}', "{}", '{"type": null}'], ids=repr
)
def test_anything_but_a_known_json_object_is_refused(text: str) -> None:
    error = refusal(text)

    assert error.status == 400 and error.code == "invalid_message"


def test_resume_names_a_valid_upload_id() -> None:
    assert parsed({"type": "resume", "upload_id": "abc123"}) == Resume("abc123")
    for upload_id in ("../etc/passwd", "events", "", 7, None):
        assert refusal(json.dumps({"type": "resume", "upload_id": upload_id})).details == {"field": "upload_id"}


def test_a_segment_carries_a_length_and_an_optional_checksum() -> None:
    plain = parsed({"type": "segment", "length": 5})
    checked = parsed({"type": "segment", "length": 5, "checksum": "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA="})

    assert plain == Segment(5, None)
    assert isinstance(checked, Segment) and checked.checksum is not None and checked.checksum.algorithm == "sha1"


def test_a_segment_with_an_unknown_algorithm_is_refused_as_a_post_would_be() -> None:
    error = refusal(json.dumps({"type": "segment", "length": 5, "checksum": "whirlpool AAAA"}))

    assert error.code == "unsupported_checksum_algorithm"


def test_length_and_ping() -> None:
    assert parsed({"type": "length", "size": 0}) == DeclareLength(0)
    assert parsed({"type": "ping"}) == Ping()


def test_creation_follows_the_rules_of_a_post() -> None:
    request = creation_request(Create(10, {"filename": "ä.txt"}), **BOUNDS)

    assert request.length == 10 and not request.deferred
    assert request.metadata == {"filename": "ä.txt"}
    assert request.raw_metadata == "filename w6QudHh0"


def test_creation_above_the_maximum_size_is_413() -> None:
    with pytest.raises(TusError) as caught:
        creation_request(Create(1001, {}), **BOUNDS)

    assert (caught.value.status, caught.value.code) == (413, "upload_too_large")


def test_creation_with_too_much_metadata_is_400() -> None:
    with pytest.raises(TusError) as too_many:
        creation_request(Create(1, {f"k{i}": "v" for i in range(5)}), **BOUNDS)
    with pytest.raises(TusError) as too_large:
        creation_request(Create(1, {"k": "v" * 300}), **BOUNDS)
    with pytest.raises(TusError) as bad_key:
        creation_request(Create(1, {"a key": "v"}), **BOUNDS)

    assert too_many.value.status == too_large.value.status == bad_key.value.status == 400
    assert too_large.value.code == "metadata_too_large"


def test_a_progress_message_reads_as_a_progress_bar() -> None:
    message = progress_message(512, 1024, 256.04, 2.0)

    assert message == {
        "type": "progress",
        "offset": 512,
        "length": 1024,
        "percentage": 50.0,
        "bytes_per_second": 256.0,
        "eta_seconds": 2.0,
        "message": "stored 512 of 1024 bytes (50%)",
    }


def test_a_progress_message_of_a_deferred_upload_has_no_percentage() -> None:
    message = progress_message(512, None, None, None)

    assert message["percentage"] is None and message["message"] == "stored 512 bytes"


def test_an_error_message_carries_the_http_status_and_the_error_body() -> None:
    error = TusError(460, "checksum_mismatch", "no match", {"algorithm": "sha1"})

    assert error_message(error, 7) == {
        "type": "error",
        "status": 460,
        "error_code": "checksum_mismatch",
        "error_message": "no match",
        "details": {"algorithm": "sha1"},
        "offset": 7,
    }
