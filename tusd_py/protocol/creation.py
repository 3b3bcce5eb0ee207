"""Deciding whether a POST may create an upload, and with what length, metadata and concatenation."""

from __future__ import annotations

from dataclasses import dataclass, field

from tusd_py.protocol.checksum import Checksum
from tusd_py.protocol.concat import Concat, parse_concat
from tusd_py.protocol.errors import TusError, bad_header
from tusd_py.protocol.headers import Headers, optional_uint
from tusd_py.protocol.metadata import parse_metadata


@dataclass(frozen=True)
class CreationRequest:
    length: int | None  # None when deferred, or for a final upload (the sum of its partials)
    deferred: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    raw_metadata: str | None = None
    concat: Concat | None = None
    protocol: str = "tus"
    expected_digest: Checksum | None = None  # the whole upload's, stated before it is complete (Repr-Digest)


def parse_creation(
    headers: Headers, *, max_size: int | None, max_metadata_pairs: int = 256, max_metadata_size: int = 16 * 1024
) -> CreationRequest:
    length = optional_uint(headers, "Upload-Length")
    defer = headers.get("Upload-Defer-Length")
    if defer is not None and defer.strip() != "1":
        raise bad_header("Upload-Defer-Length", "the only allowed value is 1", defer)
    deferred = defer is not None

    concat_header = headers.get("Upload-Concat")
    concat = parse_concat(concat_header) if concat_header is not None else None

    if concat is not None and concat.is_final:
        if length is not None or deferred:
            raise TusError(
                400,
                "invalid_final_upload",
                "a final upload takes no Upload-Length or Upload-Defer-Length: its length is the sum of its partials",
            )
    elif length is not None and deferred:
        raise TusError(400, "invalid_length", "send Upload-Length or Upload-Defer-Length: 1, not both")
    elif length is None and not deferred:
        raise TusError(400, "missing_length", "Upload-Length or Upload-Defer-Length: 1 is required")

    if length is not None:
        check_max_size(length, max_size)

    raw_metadata = headers.get("Upload-Metadata")
    if raw_metadata is not None and len(raw_metadata) > max_metadata_size:
        raise TusError(
            400,
            "metadata_too_large",
            f"Upload-Metadata is {len(raw_metadata)} bytes; at most {max_metadata_size} are accepted",
            {"size": len(raw_metadata), "max_size": max_metadata_size},
        )
    metadata = parse_metadata(raw_metadata, max_pairs=max_metadata_pairs) if raw_metadata is not None else {}
    return CreationRequest(length, deferred, metadata, raw_metadata, concat)


def check_max_size(length: int, max_size: int | None) -> None:
    if max_size is not None and length > max_size:
        raise TusError(
            413,
            "upload_too_large",
            f"the upload length {length} exceeds the maximum of {max_size} bytes",
            {"length": length, "max_size": max_size},
        )
