"""Upload-Checksum: a digest of this request's body; a body that does not match is not kept."""

from __future__ import annotations

import base64
import hashlib
import zlib

import pytest

from tests.http.tus_client import TusClient, assert_error

pytestmark = pytest.mark.stores("file", "s3")  # what the store does not decide, on both stores


def digest(algorithm: str, body: bytes) -> bytes:
    if algorithm == "crc32":
        return zlib.crc32(body).to_bytes(4, "big")
    return hashlib.new(algorithm, body).digest()


def checksum_header(algorithm: str, body: bytes) -> dict[str, str]:
    return {"Upload-Checksum": f"{algorithm} {base64.b64encode(digest(algorithm, body)).decode()}"}


ALGORITHMS = ["sha1", "sha256", "md5", "crc32"]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_a_matching_checksum_stores_the_body(tus: TusClient, algorithm: str) -> None:
    url = await tus.new_upload(11)

    response = await tus.patch(url, b"hello", offset=0, headers=checksum_header(algorithm, b"hello"))

    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == "5"
    assert tus.stored_bytes(url) == b"hello"


async def test_the_crc32_digest_is_the_big_endian_crc_in_base64(tus: TusClient) -> None:
    url = await tus.new_upload(9)
    # CRC-32 of "123456789" is the well-known check value 0xCBF43926.
    expected = base64.b64encode(bytes.fromhex("cbf43926")).decode()

    response = await tus.patch(url, b"123456789", offset=0, headers={"Upload-Checksum": f"crc32 {expected}"})

    assert response.status_code == 204


async def test_the_checksum_covers_only_this_requests_body(tus: TusClient) -> None:
    url = await tus.new_upload(11)
    await tus.patch(url, b"hello", offset=0, headers=checksum_header("sha1", b"hello"))

    response = await tus.patch(url, b" world", offset=5, headers=checksum_header("sha1", b" world"))

    assert response.status_code == 204
    assert tus.stored_bytes(url) == b"hello world"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_a_mismatching_checksum_is_460(tus: TusClient, algorithm: str) -> None:
    url = await tus.new_upload(11)

    response = await tus.patch(url, b"hellO", offset=0, headers=checksum_header(algorithm, b"hello"))

    assert_error(response, 460)


async def test_a_mismatching_checksum_keeps_nothing_of_the_body(tus: TusClient) -> None:
    url = await tus.new_upload(11)
    await tus.patch(url, b"hello", offset=0)

    await tus.patch(url, b" worlD", offset=5, headers=checksum_header("sha256", b" world"))

    assert tus.stored_bytes(url) == b"hello"
    assert await tus.offset_of(url) == 5


async def test_after_a_mismatch_the_same_offset_accepts_the_right_body(tus: TusClient) -> None:
    url = await tus.new_upload(5)
    await tus.patch(url, b"hellO", offset=0, headers=checksum_header("md5", b"hello"))

    response = await tus.patch(url, b"hello", offset=0, headers=checksum_header("md5", b"hello"))

    assert response.status_code == 204
    assert tus.stored_bytes(url) == b"hello"


async def test_an_unknown_checksum_algorithm_is_400(tus: TusClient) -> None:
    url = await tus.new_upload(11)

    response = await tus.patch(url, b"hello", offset=0, headers={"Upload-Checksum": "sha3 AAAA"})

    assert_error(response, 400)


async def test_an_unknown_checksum_algorithm_keeps_nothing_of_the_body(tus: TusClient) -> None:
    url = await tus.new_upload(11)
    await tus.patch(url, b"hello", offset=0)

    await tus.patch(url, b" world", offset=5, headers={"Upload-Checksum": "whirlpool AAAA"})

    assert tus.stored_bytes(url) == b"hello"
    assert await tus.offset_of(url) == 5


@pytest.mark.parametrize("value", ["sha1", "sha1 !!!notbase64", "sha1  AAAA", ""])
async def test_a_malformed_checksum_header_is_400_and_keeps_nothing(tus: TusClient, value: str) -> None:
    url = await tus.new_upload(11)

    response = await tus.patch(url, b"hello", offset=0, headers={"Upload-Checksum": value})

    assert_error(response, 400)
    assert tus.stored_bytes(url) == b""
