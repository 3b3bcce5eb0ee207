"""What the server announces: the version check, extensions by store capability, limits."""

from __future__ import annotations

import pytest

from tests.protocol.request_headers import headers
from tusd_py.protocol.discovery import (
    discovery_headers,
    extensions,
    require_tus_resumable,
)
from tusd_py.protocol.errors import TusError

EVERY_CAPABILITY = {"termination", "concatenation", "deferred-length", "staged-append", "ranged-reads"}


@pytest.mark.parametrize("request_headers", [headers(), headers(tus_resumable="0.2.2"), headers(tus_resumable="")])
def test_any_other_tus_resumable_is_412_with_tus_version(request_headers: object) -> None:
    with pytest.raises(TusError) as error:
        require_tus_resumable(request_headers)  # type: ignore[arg-type]

    assert error.value.status == 412
    assert error.value.headers["Tus-Version"] == "1.0.0"


def test_a_store_without_capabilities_offers_creation_only() -> None:
    assert set(extensions(set(), expiration=False)) == {"creation", "creation-with-upload"}


@pytest.mark.parametrize(
    ("capability", "extension"),
    [
        ("deferred-length", "creation-defer-length"),
        ("staged-append", "checksum"),
        ("termination", "termination"),
        ("concatenation", "concatenation"),
        ("concatenation", "concatenation-unfinished"),
    ],
)
def test_each_extension_needs_its_capability(capability: str, extension: str) -> None:
    assert extension in extensions({capability}, expiration=False)
    assert extension not in extensions(EVERY_CAPABILITY - {capability}, expiration=False)


def test_expiration_is_offered_only_when_uploads_expire() -> None:
    assert "expiration" in extensions(set(), expiration=True)
    assert "expiration" not in extensions(set(), expiration=False)


def test_checksum_trailer_is_never_offered() -> None:
    assert "checksum-trailer" not in extensions(EVERY_CAPABILITY, expiration=True)


def test_discovery_names_version_extensions_limit_and_algorithms() -> None:
    announced = discovery_headers(EVERY_CAPABILITY, max_size=1000, expiration=False)

    assert announced["Tus-Version"] == "1.0.0"
    assert announced["Tus-Max-Size"] == "1000"
    assert set(announced["Tus-Checksum-Algorithm"].split(",")) == {"sha1", "sha256", "md5", "crc32"}
    assert "creation" in announced["Tus-Extension"].split(",")


def test_discovery_without_a_limit_has_no_tus_max_size() -> None:
    assert "Tus-Max-Size" not in discovery_headers(EVERY_CAPABILITY, max_size=None, expiration=False)


def test_discovery_without_checksum_has_no_algorithms() -> None:
    assert "Tus-Checksum-Algorithm" not in discovery_headers(set(), max_size=None, expiration=False)
