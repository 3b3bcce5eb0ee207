"""An upload directory moves between tusd and tusd_py both ways: `.info` files exactly as tusd shapes them."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tusd_py import Settings, create_app

TUS = {"Tus-Resumable": "1.0.0"}
TUSD_ID = "5b0f5c0ad0a3e6e0a8d6d2c1f1f8a7b4"


def tusd_info(directory: Path, upload_id: str, **fields: object) -> dict[str, object]:
    """What tusd v2's filestore writes (Go's json.Marshal of FileInfo: no extra keys, Storage keys sorted)."""
    info: dict[str, object] = {
        "ID": upload_id,
        "Size": 11,
        "SizeIsDeferred": False,
        "Offset": 0,
        "MetaData": {"filename": "hello.txt", "filetype": "text/plain"},
        "IsPartial": False,
        "IsFinal": False,
        "PartialUploads": None,
        "Storage": {
            "InfoPath": f"/srv/tusd-data/{upload_id}.info",
            "Path": f"/srv/tusd-data/{upload_id}",
            "Type": "filestore",
        },
    }
    info.update(fields)
    return info


def write_tusd_upload(directory: Path, upload_id: str, data: bytes, **fields: object) -> None:
    (directory / upload_id).write_bytes(data)
    (directory / f"{upload_id}.info").write_text(json.dumps(tusd_info(directory, upload_id, **fields)))


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "uploads"
    directory.mkdir()
    return directory


@pytest.fixture
async def client(upload_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(upload_dir=upload_dir))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


async def test_a_tusd_upload_is_resumed_from_the_data_files_size(client: httpx.AsyncClient, upload_dir: Path) -> None:
    write_tusd_upload(upload_dir, TUSD_ID, b"hello")
    head = await client.head(f"/files/{TUSD_ID}", headers=TUS)
    assert head.status_code == 200
    assert head.headers["upload-offset"] == "5"
    assert head.headers["upload-length"] == "11"
    metadata = dict(pair.split(" ") for pair in head.headers["upload-metadata"].split(","))
    assert base64.b64decode(metadata["filename"]) == b"hello.txt"

    patch = await client.patch(
        f"/files/{TUSD_ID}",
        content=b" world",
        headers={**TUS, "Upload-Offset": "5", "Content-Type": "application/offset+octet-stream"},
    )
    assert patch.status_code == 204
    assert (upload_dir / TUSD_ID).read_bytes() == b"hello world"


async def test_a_deferred_tusd_upload_takes_its_length_later(client: httpx.AsyncClient, upload_dir: Path) -> None:
    write_tusd_upload(upload_dir, TUSD_ID, b"abc", Size=0, SizeIsDeferred=True)
    head = await client.head(f"/files/{TUSD_ID}", headers=TUS)
    assert head.headers["upload-defer-length"] == "1"
    assert "upload-length" not in head.headers
    patch = await client.patch(
        f"/files/{TUSD_ID}",
        content=b"def",
        headers={**TUS, "Upload-Offset": "3", "Upload-Length": "6", "Content-Type": "application/offset+octet-stream"},
    )
    assert patch.status_code == 204
    saved = json.loads((upload_dir / f"{TUSD_ID}.info").read_text())
    assert saved["Size"] == 6 and saved["SizeIsDeferred"] is False


async def test_a_tusd_final_upload_reports_its_partials(client: httpx.AsyncClient, upload_dir: Path) -> None:
    parts = ["aa" * 16, "bb" * 16]
    for part, data in zip(parts, (b"ab", b"cd"), strict=True):
        write_tusd_upload(upload_dir, part, data, Size=2, IsPartial=True, MetaData={})
    write_tusd_upload(upload_dir, TUSD_ID, b"abcd", Size=4, IsFinal=True, PartialUploads=parts)
    head = await client.head(f"/files/{TUSD_ID}", headers=TUS)
    assert head.headers["upload-offset"] == "4"
    assert (
        head.headers["upload-concat"] == f"final;http://testserver/files/{parts[0]} http://testserver/files/{parts[1]}"
    )


async def test_uploads_written_here_read_as_tusd_expects(client: httpx.AsyncClient, upload_dir: Path) -> None:
    created = await client.post(
        "/files/",
        headers={**TUS, "Upload-Length": "5", "Upload-Metadata": "filename " + base64.b64encode(b"a.bin").decode()},
    )
    upload_id = created.headers["location"].rsplit("/", 1)[1]
    info = json.loads((upload_dir / f"{upload_id}.info").read_text())

    # Every field tusd's FileInfo has, with the JSON type Go's decoder needs.
    assert info["ID"] == upload_id
    assert info["Size"] == 5 and isinstance(info["Size"], int)
    assert info["SizeIsDeferred"] is False
    assert info["Offset"] == 0
    assert info["MetaData"] == {"filename": "a.bin"}
    assert info["IsPartial"] is False and info["IsFinal"] is False
    assert info["PartialUploads"] is None
    assert info["Storage"] == {
        "Type": "filestore",
        "Path": str(upload_dir.resolve() / upload_id),
        "InfoPath": str(upload_dir.resolve() / f"{upload_id}.info"),
    }
    assert (upload_dir / upload_id).read_bytes() == b""  # tusd expects the data file to exist from creation on


async def test_a_final_upload_written_here_names_partials_by_id(client: httpx.AsyncClient, upload_dir: Path) -> None:
    ids = []
    for data in (b"ab", b"cd"):
        created = await client.post(
            "/files/",
            headers={
                **TUS,
                "Upload-Length": "2",
                "Upload-Concat": "partial",
                "Content-Type": "application/offset+octet-stream",
            },
            content=data,
        )
        ids.append(created.headers["location"].rsplit("/", 1)[1])
    final = await client.post(
        "/files/", headers={**TUS, "Upload-Concat": "final;" + " ".join(f"/files/{i}" for i in ids)}
    )
    final_id = final.headers["location"].rsplit("/", 1)[1]
    info = json.loads((upload_dir / f"{final_id}.info").read_text())
    assert info["IsFinal"] is True
    assert info["PartialUploads"] == ids
    assert info["Size"] == 4
    assert (upload_dir / final_id).read_bytes() == b"abcd"
    assert json.loads((upload_dir / f"{ids[0]}.info").read_text())["IsPartial"] is True
