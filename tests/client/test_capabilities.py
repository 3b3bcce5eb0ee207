"""Reading a server's OPTIONS answer and refusing clearly what it cannot do."""

from __future__ import annotations

import pytest

from tusd_py.client.capabilities import ServerCapabilities
from tusd_py.client.errors import MissingCapability, UploadRejected

NODE_LIKE = {"tus-version": "1.0.0", "tus-extension": "creation,creation-with-upload,termination,expiration"}
FULL = {
    "tus-version": "1.0.0",
    "tus-extension": "creation,checksum,concatenation",
    "tus-checksum-algorithm": "sha1,md5",
    "tus-max-size": "1000",
}


def test_headers_are_read_into_capabilities() -> None:
    capabilities = ServerCapabilities.from_headers("http://x/files/", FULL)
    assert capabilities.extensions == {"creation", "checksum", "concatenation"}
    assert capabilities.checksum_algorithms == {"sha1", "md5"}
    assert capabilities.max_size == 1000


def test_parallel_parts_need_concatenation() -> None:
    capabilities = ServerCapabilities.from_headers("http://x/files/", NODE_LIKE)
    with pytest.raises(MissingCapability, match="--parallel 3 needs the tus 'concatenation' extension") as raised:
        capabilities.require("concatenation", "--parallel 3")
    assert "creation-with-upload, expiration, termination" in raised.value.message
    assert raised.value.exit_code == 4


def test_a_checksum_needs_the_extension_and_the_algorithm() -> None:
    with pytest.raises(MissingCapability, match="'checksum' extension"):
        ServerCapabilities.from_headers("http://x/files/", NODE_LIKE).require_checksum("sha1")
    with pytest.raises(MissingCapability, match="does not accept crc32 checksums"):
        ServerCapabilities.from_headers("http://x/files/", FULL).require_checksum("crc32")
    ServerCapabilities.from_headers("http://x/files/", FULL).require_checksum("sha1")


def test_a_file_over_the_max_size_is_refused_before_sending() -> None:
    capabilities = ServerCapabilities.from_headers("http://x/files/", FULL)
    capabilities.check_size(1000)
    with pytest.raises(UploadRejected, match="Tus-Max-Size: 1000"):
        capabilities.check_size(1001)
