"""OPTIONS: discovery of version, extensions, limits and checksum algorithms; never a 412."""

from __future__ import annotations

from pathlib import Path

from tests.http.conftest import MakeTus
from tests.http.tus_client import TusClient
from tusd_py import Settings, create_app
from tusd_py.storage import FileStore

ALL_EXTENSIONS = {
    "creation",
    "creation-with-upload",
    "creation-defer-length",
    "checksum",
    "termination",
    "concatenation",
    "concatenation-unfinished",
}


def extensions_of(header: str) -> set[str]:
    return {name.strip() for name in header.split(",")}


async def test_options_is_200_with_tus_version(tus: TusClient) -> None:
    response = await tus.options()

    assert response.status_code == 200
    assert response.headers["Tus-Version"] == "1.0.0"


async def test_options_on_an_upload_url_is_200_with_tus_version(tus: TusClient) -> None:
    url = await tus.new_upload(5)

    response = await tus.options(url)

    assert response.status_code == 200
    assert response.headers["Tus-Version"] == "1.0.0"


async def test_options_without_tus_resumable_is_not_412(tus: TusClient) -> None:
    response = await tus.http.options(
        tus.endpoint, headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    )

    assert response.status_code == 200


async def test_options_with_another_tus_resumable_is_not_412(tus: TusClient) -> None:
    response = await tus.options(headers={"Tus-Resumable": "0.2.2"})

    assert response.status_code == 200


async def test_the_file_store_advertises_every_extension_it_supports(tus: TusClient) -> None:
    response = await tus.options()

    assert extensions_of(response.headers["Tus-Extension"]) == ALL_EXTENSIONS


async def test_expiration_is_advertised_only_when_uploads_expire(make_tus: MakeTus) -> None:
    expiring = await make_tus(expire_after=3600).options()
    lasting = await make_tus().options()

    assert "expiration" in extensions_of(expiring.headers["Tus-Extension"])
    assert "expiration" not in extensions_of(lasting.headers["Tus-Extension"])


async def test_checksum_trailer_is_not_advertised(tus: TusClient) -> None:
    # Neither httpx's ASGI transport nor uvicorn hands request trailers to the app.
    response = await tus.options()

    assert "checksum-trailer" not in extensions_of(response.headers["Tus-Extension"])


async def test_a_store_without_capabilities_gets_only_the_core_extensions(upload_dir: Path) -> None:
    class PlainStore(FileStore):
        capabilities = frozenset()

    app = create_app(Settings(upload_dir=upload_dir), store=PlainStore(upload_dir))
    tus = TusClient(app, upload_dir)
    try:
        response = await tus.options()
    finally:
        await tus.aclose()

    assert extensions_of(response.headers["Tus-Extension"]) == {"creation", "creation-with-upload"}
    assert "Tus-Checksum-Algorithm" not in response.headers


async def test_tus_max_size_is_sent_when_the_size_is_limited(make_tus: MakeTus) -> None:
    response = await make_tus(max_size=1000).options()

    assert response.headers["Tus-Max-Size"] == "1000"


async def test_tus_max_size_is_absent_when_the_size_is_unlimited(tus: TusClient) -> None:
    response = await tus.options()

    assert "Tus-Max-Size" not in response.headers


async def test_tus_checksum_algorithm_lists_sha1_sha256_md5_and_crc32(tus: TusClient) -> None:
    response = await tus.options()

    algorithms = {name.strip() for name in response.headers["Tus-Checksum-Algorithm"].split(",")}
    assert algorithms == {"sha1", "sha256", "md5", "crc32"}
