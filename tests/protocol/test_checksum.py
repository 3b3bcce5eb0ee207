"""Upload-Checksum: `<algorithm> <base64 digest>` for sha1, sha256, md5 and crc32."""

from __future__ import annotations

import base64
import hashlib
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tusd_py.protocol.checksum import ALGORITHMS, checksum_mismatch, parse_checksum
from tusd_py.protocol.errors import TusError


def test_the_supported_algorithms_are_sha1_sha256_md5_and_crc32() -> None:
    assert set(ALGORITHMS) == {"sha1", "sha256", "md5", "crc32"}


def test_a_checksum_header_gives_the_algorithm_and_the_decoded_digest() -> None:
    checksum = parse_checksum("sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=")

    assert checksum.algorithm == "sha1"
    assert checksum.digest == bytes.fromhex("2aae6c35c94fcfb415dbe95f408b9ce91ee846ed")


def test_an_unknown_algorithm_is_400_naming_the_supported_ones() -> None:
    with pytest.raises(TusError) as error:
        parse_checksum("sha3 AAAA")

    assert error.value.status == 400
    assert set(error.value.details["supported"]) == set(ALGORITHMS)


@pytest.mark.parametrize("value", ["", "sha1", "sha1 ", "sha1 !!!!", "sha1 AAAA BBBB", " AAAA"])
def test_a_malformed_header_is_400(value: str) -> None:
    with pytest.raises(TusError) as error:
        parse_checksum(value)

    assert error.value.status == 400


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "md5"])
@given(body=st.binary(max_size=200))
def test_hashlib_algorithms_digest_like_hashlib(algorithm: str, body: bytes) -> None:
    hasher = ALGORITHMS[algorithm]()
    hasher.update(body)

    assert hasher.digest() == hashlib.new(algorithm, body).digest()


@given(body=st.binary(max_size=200))
def test_crc32_digests_the_big_endian_crc(body: bytes) -> None:
    hasher = ALGORITHMS["crc32"]()
    hasher.update(body)

    assert hasher.digest() == zlib.crc32(body).to_bytes(4, "big")


def test_crc32_of_the_standard_check_string_is_cbf43926() -> None:
    checksum = parse_checksum("crc32 " + base64.b64encode(bytes.fromhex("cbf43926")).decode())
    hasher = checksum.hasher()
    hasher.update(b"12345")
    hasher.update(b"6789")

    assert hasher.digest() == checksum.digest


def test_a_mismatch_is_460() -> None:
    assert checksum_mismatch(parse_checksum("md5 AAAAAAAAAAAAAAAAAAAAAA==")).status == 460


@given(st.text(max_size=60))
def test_parse_gives_a_supported_algorithm_or_a_400_tus_error(value: str) -> None:
    try:
        checksum = parse_checksum(value)
    except TusError as error:
        assert error.status == 400
        return
    assert checksum.algorithm in ALGORITHMS
