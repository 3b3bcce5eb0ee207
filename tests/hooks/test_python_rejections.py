"""What blocking hooks decide: pre-create refuses or reshapes an upload, pre-finish adds headers, pre-terminate
refuses; a pre-* hook that fails refuses the request with 502 hook_failed."""

from __future__ import annotations

import base64
import json

import pytest

from tests.hooks.conftest import MakeHooked, Recorder
from tests.http.tus_client import assert_error, upload_id_of
from tusd_py.hooks.models import ChangeFileInfo, HookRequest, HookResponse, HTTPResponse

pytestmark = pytest.mark.stores("file", "s3")  # hooks see the same uploads on either store


def refuse(status: int | None = None, body: str | None = None, **headers: str) -> HookResponse:
    return HookResponse(reject_upload=True, http_response=HTTPResponse(status, body, headers))


def change(new_id: str | None = None, metadata: dict[str, str] | None = None) -> HookResponse:
    return HookResponse(change_file_info=ChangeFileInfo(id=new_id, metadata=metadata))


def metadata_of(header: str) -> dict[str, str]:
    pairs = (item.split(" ") for item in header.split(","))
    return {key: base64.b64decode(value).decode() for key, value in pairs}


# -- pre-create -----------------------------------------------------------------------------------


async def test_a_pre_create_rejection_reaches_the_client_with_its_status_body_and_headers(
    make_hooked: MakeHooked,
) -> None:
    answer = refuse(403, json.dumps({"message": "PDFs only", "allowed": ["application/pdf"]}), **{"X-Reason": "type"})
    client = make_hooked({"pre-create": lambda request: answer})

    response = await client.create(5)

    body = assert_error(response, 403)
    assert body["error_code"] == "upload_rejected"
    assert body["error_message"] == "PDFs only"
    assert body["details"] == {
        "hook": "pre-create",
        "hook_response": {"message": "PDFs only", "allowed": ["application/pdf"]},
    }
    assert response.headers["X-Reason"] == "type"
    assert "Location" not in response.headers
    assert client.stored_files() == []


async def test_a_rejection_with_a_text_body_uses_it_as_the_message(make_hooked: MakeHooked) -> None:
    client = make_hooked({"pre-create": lambda request: refuse(422, "file names must end in .pdf")})

    body = assert_error(await client.create(5), 422)

    assert body["error_message"] == "file names must end in .pdf"
    assert body["details"]["hook_response"] == "file names must end in .pdf"


async def test_a_rejection_without_a_response_is_400(make_hooked: MakeHooked) -> None:
    client = make_hooked({"pre-create": lambda request: HookResponse(reject_upload=True)})

    body = assert_error(await client.create(5), 400)

    assert body == {
        "error_code": "upload_rejected",
        "error_message": "the upload was refused",
        "details": {"hook": "pre-create"},
    }


async def test_a_rejection_with_a_success_status_is_still_a_refusal(make_hooked: MakeHooked) -> None:
    client = make_hooked({"pre-create": lambda request: refuse(200, '{"message": "not today"}')})

    body = assert_error(await client.create(5), 400)

    assert body["error_message"] == "not today"
    assert client.stored_files() == []


async def test_a_rejected_creation_with_a_body_stores_nothing(make_hooked: MakeHooked) -> None:
    client = make_hooked({"pre-create": lambda request: refuse(403)})

    assert_error(await client.create(3, body=b"abc"), 403)

    assert client.stored_files() == []


async def test_a_pre_create_hook_can_decide_from_the_metadata(make_hooked: MakeHooked) -> None:
    def pdfs_only(request: HookRequest) -> HookResponse | None:
        if request.upload.metadata.get("filetype") != "application/pdf":
            return refuse(415, '{"message": "PDFs only"}')
        return None

    client = make_hooked({"pre-create": pdfs_only})

    refused = await client.create(5, metadata="filetype " + base64.b64encode(b"image/png").decode())
    accepted = await client.create(5, metadata="filetype " + base64.b64encode(b"application/pdf").decode())

    assert_error(refused, 415)
    assert accepted.status_code == 201


async def test_pre_create_headers_are_added_to_the_created_answer(make_hooked: MakeHooked) -> None:
    answer = HookResponse(http_response=HTTPResponse(headers={"X-Quota-Left": "3"}))
    client = make_hooked({"pre-create": lambda request: answer})

    response = await client.create(5)

    assert response.status_code == 201
    assert response.headers["X-Quota-Left"] == "3"


async def test_framing_headers_from_pre_create_are_not_added(make_hooked: MakeHooked) -> None:
    answer = HookResponse(http_response=HTTPResponse(headers={"Content-Length": "99", "X-Kept": "yes"}))
    client = make_hooked({"pre-create": lambda request: answer})

    response = await client.create(5)

    assert response.status_code == 201
    assert response.headers["X-Kept"] == "yes"
    assert response.headers.get("Content-Length", "0") == "0"


async def test_change_file_info_id_names_the_upload(make_hooked: MakeHooked, recorder: Recorder) -> None:
    client = make_hooked({"pre-create": lambda request: change("invoice-2024-07"), "post-create": recorder.sync()})

    response = await client.create(5)

    assert response.status_code == 201
    url = response.headers["Location"]
    # On S3 the id names the objects, and the tus id adds the multipart upload's: `invoice-2024-07+<multipart>`.
    assert url.startswith("http://testserver/files/")
    assert upload_id_of(url).partition("+")[0] == "invoice-2024-07"
    assert (await client.head(url)).status_code == 200
    assert "invoice-2024-07.info" in client.stored_files()
    [told] = await recorder.wait_for("post-create")
    assert told.upload.id == upload_id_of(url)


async def test_change_file_info_metadata_replaces_what_head_shows(make_hooked: MakeHooked) -> None:
    client = make_hooked({"pre-create": lambda request: change(metadata={"filename": "clean.txt", "owner": "ann"})})

    url = await client.new_upload(5, metadata="filename " + base64.b64encode(b"../../etc/passwd").decode())

    head = await client.head(url)
    assert metadata_of(head.headers["Upload-Metadata"]) == {"filename": "clean.txt", "owner": "ann"}
    assert client.stored_info(url)["MetaData"] == {"filename": "clean.txt", "owner": "ann"}
    progress = await client.http.get(f"{url}/progress")
    assert progress.json()["metadata"] == {"filename": "clean.txt", "owner": "ann"}


@pytest.mark.parametrize("bad_id", ["../escape", "has space", "events", "a" * 200, ".hidden"])
async def test_an_invalid_changed_id_is_a_failed_hook(make_hooked: MakeHooked, bad_id: str) -> None:
    client = make_hooked({"pre-create": lambda request: change(bad_id)})

    body = assert_error(await client.create(5), 502)

    assert body["error_code"] == "hook_failed"
    assert body["details"] == {"hook": "pre-create"}
    assert client.stored_files() == []


async def test_a_changed_id_already_taken_is_a_failed_hook(make_hooked: MakeHooked) -> None:
    client = make_hooked({"pre-create": lambda request: change("same-id")})
    first = await client.uploaded(b"first")

    body = assert_error(await client.create(6), 502)

    assert body["error_code"] == "hook_failed"
    assert "taken" in body["error_message"]
    assert upload_id_of(first).partition("+")[0] == "same-id"  # on S3 the tus id adds the multipart upload's
    assert client.stored_bytes(first) == b"first"


# -- pre-finish ------------------------------------------------------------------------------------


async def test_pre_finish_headers_are_added_to_the_patch_answer(make_hooked: MakeHooked) -> None:
    answer = HookResponse(http_response=HTTPResponse(headers={"X-Processing": "queued"}))
    client = make_hooked({"pre-finish": lambda request: answer})
    url = await client.new_upload(6)

    partial = await client.patch(url, b"abc", offset=0)
    final = await client.patch(url, b"def", offset=3)

    assert partial.status_code == final.status_code == 204
    assert "X-Processing" not in partial.headers  # the upload was not finished yet: no pre-finish
    assert final.headers["X-Processing"] == "queued"
    assert final.headers["Upload-Offset"] == "6"


async def test_pre_finish_cannot_override_the_tus_headers(make_hooked: MakeHooked) -> None:
    answer = HookResponse(http_response=HTTPResponse(headers={"Upload-Offset": "0"}))
    client = make_hooked({"pre-finish": lambda request: answer})

    url = await client.new_upload(3)
    response = await client.patch(url, b"abc", offset=0)

    assert response.headers["Upload-Offset"] == "3"


# -- pre-terminate ---------------------------------------------------------------------------------


async def test_a_pre_terminate_rejection_keeps_the_upload(make_hooked: MakeHooked) -> None:
    answer = HookResponse(
        reject_termination=True,
        http_response=HTTPResponse(403, '{"message": "finished invoices are kept"}', {"X-Policy": "keep"}),
    )
    client = make_hooked({"pre-terminate": lambda request: answer})
    url = await client.uploaded(b"invoice")

    response = await client.delete(url)

    body = assert_error(response, 403)
    assert body["error_code"] == "termination_rejected"
    assert body["error_message"] == "finished invoices are kept"
    assert body["details"]["hook_response"] == {"message": "finished invoices are kept"}
    assert response.headers["X-Policy"] == "keep"
    assert (await client.head(url)).status_code == 200
    assert client.stored_bytes(url) == b"invoice"


async def test_a_pre_terminate_hook_that_allows_it_lets_the_upload_go(make_hooked: MakeHooked) -> None:
    client = make_hooked({"pre-terminate": lambda request: HookResponse()})
    url = await client.uploaded(b"bye")

    assert (await client.delete(url)).status_code == 204
    assert not client.stored_anything(url)
    assert (await client.head(url)).status_code == 410


async def test_reject_upload_does_not_refuse_a_termination(make_hooked: MakeHooked) -> None:
    # Each refusal has its own flag, as in tusd: RejectUpload means nothing to pre-terminate.
    client = make_hooked({"pre-terminate": lambda request: HookResponse(reject_upload=True)})
    url = await client.uploaded(b"bye")

    assert (await client.delete(url)).status_code == 204


# -- failures of blocking hooks ----------------------------------------------------------------------


def raising(request: HookRequest) -> HookResponse:
    raise RuntimeError("the database is down")


async def test_a_pre_create_hook_that_raises_is_502_hook_failed(make_hooked: MakeHooked) -> None:
    client = make_hooked({"pre-create": raising})

    body = assert_error(await client.create(5), 502)

    assert body["error_code"] == "hook_failed"
    assert body["error_message"] == "the pre-create hook failed: the database is down"
    assert body["details"] == {"hook": "pre-create"}
    assert client.stored_files() == []


async def test_a_pre_finish_hook_that_raises_is_502_and_the_bytes_are_kept(make_hooked: MakeHooked) -> None:
    client = make_hooked({"pre-finish": raising})
    url = await client.new_upload(3)

    body = assert_error(await client.patch(url, b"abc", offset=0), 502)

    assert body["error_code"] == "hook_failed"
    assert body["details"] == {"hook": "pre-finish"}
    assert await client.offset_of(url) == 3
    assert client.stored_bytes(url) == b"abc"


async def test_a_pre_terminate_hook_that_raises_is_502_and_the_upload_stays(make_hooked: MakeHooked) -> None:
    async def failing(request: HookRequest) -> HookResponse:
        raise ConnectionError("policy service unreachable")

    client = make_hooked({"pre-terminate": failing})
    url = await client.uploaded(b"keep me")

    body = assert_error(await client.delete(url), 502)

    assert body["error_code"] == "hook_failed"
    assert "policy service unreachable" in body["error_message"]
    assert client.stored_bytes(url) == b"keep me"
