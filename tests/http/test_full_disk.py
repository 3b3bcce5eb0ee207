"""A full disk (a real tmpfs of the test's own, filled with ballast): every request that cannot be stored answers
507 with the JSON body and leaves nothing half-made; what was stored is never lost; one log line per failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.http.conftest import MakeTus
from tests.http.tus_client import TusClient, assert_error, upload_id_of
from tests.support.small_disk import PAGE, SmallDisk


@pytest.fixture
def upload_dir(small_disk: SmallDisk) -> Path:
    return small_disk.path / "uploads"


@pytest.fixture
def tus(make_tus: MakeTus) -> TusClient:
    return make_tus()


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    traced = [record.getMessage() for record in caplog.records if record.exc_info]
    assert traced == [], traced


async def test_a_creation_refused_for_a_full_disk_leaves_nothing_behind(
    tus: TusClient, small_disk: SmallDisk, caplog: pytest.LogCaptureFixture
) -> None:
    await tus.new_upload(10)  # the upload directory exists
    before = small_disk.files()
    small_disk.fill()

    refused = await tus.create(10)

    assert assert_error(refused, 507)["error_code"] == "insufficient_storage"
    assert small_disk.files() == before
    no_tracebacks(caplog)


async def test_a_creation_whose_body_finds_the_disk_full_says_where_the_upload_is(
    tus: TusClient, small_disk: SmallDisk
) -> None:
    await tus.new_upload(10)
    small_disk.fill()
    small_disk.free(PAGE)  # room for the new upload's info, none for its bytes

    refused = await tus.create(2 * PAGE, body=b"b" * (2 * PAGE))
    created = assert_error(refused, 507)["details"]["created_upload_id"]
    small_disk.empty()
    head = await tus.head(tus.endpoint + created)

    assert head.status_code == 200 and head.headers["Upload-Length"] == str(2 * PAGE)


async def test_an_empty_upload_created_on_a_full_disk_is_created_and_completed_once_there_is_room(
    tus: TusClient, small_disk: SmallDisk
) -> None:
    await tus.new_upload(10)
    small_disk.fill()
    small_disk.free(PAGE)  # room for the new upload's info, none for the info that records its completion

    url = await tus.new_upload(0)
    small_disk.empty()
    head = await tus.head(url)

    assert head.status_code == 200 and head.headers["Upload-Offset"] == "0"
    assert tus.stored_info(url)["TusdPy"]["completed_at"] is not None


async def completion_refused(tus: TusClient, disk: SmallDisk, data: bytes) -> str:
    """An upload whose last PATCH stored `data` but could not record the completion (507); the disk freed after."""
    url = await tus.new_upload(len(data))
    disk.fill()
    disk.free(len(data))  # room for the bytes, none for the info that records the completion
    assert (await tus.patch(url, data, offset=0)).status_code == 507
    disk.empty()
    return url


async def test_the_last_patch_refused_for_a_full_disk_completes_at_the_next_head(
    tus: TusClient, small_disk: SmallDisk, caplog: pytest.LogCaptureFixture
) -> None:
    data = b"x" * (2 * PAGE)
    url = await tus.new_upload(len(data))
    small_disk.fill()
    small_disk.free(len(data))  # room for the bytes, none for the info that records the completion

    refused = await tus.patch(url, data, offset=0)
    still_full = await tus.head(url)
    small_disk.empty()
    head = await tus.head(url)
    progress = (await tus.http.get(f"{url}/progress")).json()

    assert assert_error(refused, 507)["error_code"] == "insufficient_storage"
    assert still_full.status_code == 200 and still_full.headers["Upload-Offset"] == str(len(data))
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(len(data))
    assert tus.stored_bytes(url) == data
    assert tus.stored_info(url)["TusdPy"]["completed_at"] is not None
    assert progress["status"] == "completed" and progress["completed_at"] is not None
    assert [name for name in small_disk.files() if name.endswith(".tmp")] == []
    no_tracebacks(caplog)


async def test_a_completion_refused_for_a_full_disk_is_reached_by_an_empty_patch(
    tus: TusClient, small_disk: SmallDisk
) -> None:
    data = b"y" * PAGE
    url = await completion_refused(tus, small_disk, data)

    response = await tus.patch(url, b"", offset=len(data))

    assert response.status_code == 204
    assert tus.stored_info(url)["TusdPy"]["completed_at"] is not None


async def test_a_completion_refused_for_a_full_disk_is_reached_by_the_sweeper(
    tus: TusClient, small_disk: SmallDisk
) -> None:
    url = await completion_refused(tus, small_disk, b"z" * PAGE)

    await tus.app.state.service.sweep()
    await tus.app.state.publisher.drain()

    assert tus.stored_info(url)["TusdPy"]["completed_at"] is not None
    latest = await tus.app.state.bus.latest(f"upload:{upload_id_of(url)}")
    assert latest is not None and latest.type.value == "completed"


async def test_a_delete_on_a_full_disk_removes_the_upload_and_says_so(
    tus: TusClient, small_disk: SmallDisk, caplog: pytest.LogCaptureFixture
) -> None:
    url = await tus.uploaded(b"a" * PAGE)
    # Held open, its files keep their space after the unlink, so nothing frees room for the tombstone.
    with open(tus.data_path(url), "rb"), open(str(tus.data_path(url)) + ".info", "rb"):
        small_disk.fill()
        deleted = await tus.delete(url)
        again = await tus.delete(url)
        head = await tus.head(url)

    assert deleted.status_code == 204
    assert again.status_code == 404 and head.status_code == 404
    assert [name for name in small_disk.files() if upload_id_of(url) in name] == []
    no_tracebacks(caplog)


async def test_a_failed_length_declaration_leaves_no_temporary_file(tus: TusClient, small_disk: SmallDisk) -> None:
    url = await tus.new_upload(defer=True)
    small_disk.fill()

    refused = await tus.patch(url, b"", offset=0, headers={"Upload-Length": "10"})

    assert assert_error(refused, 507)["error_code"] == "insufficient_storage"
    assert [name for name in small_disk.files() if name.endswith(".tmp")] == []
    assert tus.stored_info(url)["SizeIsDeferred"] is True


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"Size": "many"}', b"[]"])
async def test_an_upload_whose_info_cannot_be_read_is_gone_and_can_be_deleted(tus: TusClient, content: bytes) -> None:
    url = await tus.uploaded(b"hello")
    (tus.upload_dir / (upload_id_of(url) + ".info")).write_bytes(content)

    answers = [
        await tus.head(url),
        await tus.http.get(url),
        await tus.patch(url, b"", offset=5),
        await tus.http.get(f"{url}/progress"),
    ]
    deleted = await tus.delete(url)

    for answer in answers:
        assert answer.status_code == 410, (answer.request.method, answer.status_code)
    for answer in answers[1:]:
        assert answer.json()["error_code"] == "upload_info_unreadable"
    assert deleted.status_code == 204
    assert [name for name in tus.stored_files() if upload_id_of(url) in name and not name.endswith(".gone")] == []
