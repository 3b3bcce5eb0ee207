"""The IETF draft's pure side: interop versions as data, Structured Fields, request reading, response fields."""

from __future__ import annotations

import pytest

from tests.http.tus_client import raw_headers
from tusd_py.protocol.errors import TusError
from tusd_py.protocol.headers import Headers
from tusd_py.protocol.ietf.dialects import CURRENT_VERSION, DIALECTS, dialect_of
from tusd_py.protocol.ietf.fields import parse_boolean, parse_dictionary, parse_integer
from tusd_py.protocol.ietf.requests import (
    completes,
    parse_draft_append,
    parse_draft_creation,
    refuse_upload_fields,
    stated_length,
)
from tusd_py.protocol.ietf.responses import limits, problem, state_fields
from tusd_py.protocol.info import UploadInfo


def headers(**fields: str) -> Headers:
    return Headers(raw_headers(*((name.replace("_", "-"), value) for name, value in fields.items())))


def test_every_interop_version_from_3_to_the_current_one_is_known() -> None:
    assert sorted(DIALECTS) == [3, 4, 5, 6, 7, 8]
    assert CURRENT_VERSION == 8


def test_a_request_without_the_interop_header_is_tus() -> None:
    assert dialect_of(headers(Tus_Resumable="1.0.0")) is None


@pytest.mark.parametrize("value", ["2", "9", "abc", "-5", "6.0", "99999"])
def test_an_unknown_version_is_a_400_naming_the_known_ones(value: str) -> None:
    with pytest.raises(TusError) as caught:
        dialect_of(headers(Upload_Draft_Interop_Version=value))
    assert caught.value.status == 400
    assert "3, 4, 5, 6, 7, 8" in caught.value.message
    assert caught.value.details["known_versions"] == [3, 4, 5, 6, 7, 8]


def test_interop_3_speaks_upload_incomplete_and_later_ones_upload_complete() -> None:
    assert completes(headers(Upload_Incomplete="?0"), DIALECTS[3]) is True
    assert completes(headers(Upload_Incomplete="?1"), DIALECTS[3]) is False
    assert completes(headers(Upload_Complete="?1"), DIALECTS[4]) is True
    with pytest.raises(TusError):
        completes(headers(Upload_Complete="?1"), DIALECTS[3])


def test_what_each_version_changed() -> None:
    assert [d.append_media_type for d in DIALECTS.values()] == [None] * 3 + ["application/partial-upload"] * 3
    assert [d.limit_age_key for d in DIALECTS.values()] == [None, None, None, "expires", "max-age", "max-age"]
    assert [d.progress_104 for d in DIALECTS.values()] == [False, False, True, True, True, True]
    assert [d.append_status for d in DIALECTS.values()] == [201, 201, 201, 201, 204, 204]


@pytest.mark.parametrize("value", ["1", "true", "?2", "", "?"])
def test_a_boolean_is_only_question_0_or_1(value: str) -> None:
    with pytest.raises(TusError):
        parse_boolean("Upload-Complete", value)


def test_booleans_and_integers_may_carry_parameters() -> None:
    assert parse_boolean("Upload-Complete", "?1;a=1") is True
    assert parse_integer("Upload-Offset", "42;x") == 42


@pytest.mark.parametrize("value", ["-1", "1.5", "0x10", "1234567890123456", ""])
def test_an_offset_is_a_non_negative_sf_integer(value: str) -> None:
    with pytest.raises(TusError):
        parse_integer("Upload-Offset", value)


def test_limits_say_min_size_0_and_the_lifetime_under_the_versions_key() -> None:
    assert limits(DIALECTS[5], max_size=10, lifetime=60) == {}
    assert limits(DIALECTS[6], max_size=10, lifetime=60.9) == {"Upload-Limit": "max-size=10, min-size=0, expires=60"}
    assert limits(DIALECTS[8], max_size=None, lifetime=None) == {"Upload-Limit": "min-size=0"}
    assert parse_dictionary(limits(DIALECTS[7], max_size=5, lifetime=3)["Upload-Limit"]) == {
        "max-size": 5,
        "min-size": 0,
        "max-age": 3,
    }


def test_the_length_comes_from_upload_length_or_content_length_with_completion() -> None:
    assert stated_length(headers(Content_Length="10"), offset=5, complete=True) == 15
    assert stated_length(headers(Content_Length="10"), offset=5, complete=False) is None
    assert stated_length(headers(Upload_Length="15", Content_Length="10"), offset=5, complete=True) == 15
    with pytest.raises(TusError) as caught:
        stated_length(headers(Upload_Length="16", Content_Length="10"), offset=5, complete=True)
    assert caught.value.code == "inconsistent_upload_length"


def test_a_creation_of_unknown_length_is_deferred_and_takes_the_representations_name_and_type() -> None:
    creation, body = parse_draft_creation(
        headers(
            Upload_Complete="?0",
            Content_Type="image/png",
            Content_Disposition='inline; filename="a b.png"',
        ),
        DIALECTS[8],
        max_size=None,
    )
    assert creation.deferred and creation.length is None
    assert creation.metadata == {"filetype": "image/png", "filename": "a b.png"}
    assert creation.protocol == "ietf-draft-8"
    assert body.offset == 0 and not body.completes


def test_from_interop_6_an_append_needs_application_partial_upload() -> None:
    request = headers(Upload_Offset="0", Upload_Complete="?0")
    assert parse_draft_append(request, DIALECTS[5]).offset == 0
    with pytest.raises(TusError) as caught:
        parse_draft_append(request, DIALECTS[6])
    assert caught.value.status == 415


def test_drafts_01_to_05_refuse_upload_fields_on_retrieval() -> None:
    with pytest.raises(TusError):
        refuse_upload_fields(headers(Upload_Offset="0"), DIALECTS[6])
    refuse_upload_fields(headers(Upload_Offset="0"), DIALECTS[7])


def test_a_mismatch_is_a_problem_document_from_interop_6() -> None:
    error = TusError(409, "offset_mismatch", "no", {"expected_offset": 5, "received_offset": 9})
    body, media_type = problem(DIALECTS[6], error)
    assert media_type == "application/problem+json"
    assert body["type"] == "https://iana.org/assignments/http-problem-types#mismatching-upload-offset"
    assert (body["expected-offset"], body["provided-offset"]) == (5, 9)
    body, media_type = problem(DIALECTS[5], error)
    assert media_type == "application/json" and "type" not in body


def test_state_fields_name_completion_in_the_versions_words() -> None:
    info = UploadInfo(id="x", size=10, offset=4)
    assert state_fields(DIALECTS[3], info)["Upload-Incomplete"] == "?1"
    fields = state_fields(DIALECTS[8], info, retrieval=True)
    assert fields["Upload-Complete"] == "?0"
    assert fields["Upload-Length"] == "10"
    assert "Upload-Length" not in state_fields(DIALECTS[5], info, retrieval=True)
