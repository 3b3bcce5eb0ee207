"""Deciding whether a PATCH may append: content type, offset, deferred length, checksum and size limits."""

from __future__ import annotations

from dataclasses import dataclass

from tusd_py.protocol.checksum import Checksum, parse_checksum
from tusd_py.protocol.constants import OFFSET_CONTENT_TYPE
from tusd_py.protocol.errors import TusError
from tusd_py.protocol.headers import Headers, media_type, optional_uint, parse_uint
from tusd_py.protocol.info import UploadInfo


@dataclass(frozen=True)
class AppendRequest:
    """What the headers of a PATCH (or of a POST carrying data) ask for."""

    offset: int
    declared_length: int | None = None
    checksum: Checksum | None = None
    content_length: int | None = None
    # The IETF draft's: the body ends the upload (its length is where the body ends, unless already known), and
    # a stated length may restate the known one (a different one is an inconsistent length).
    completes: bool = False
    consistent_length: bool = False
    checksum_field: str = "Upload-Checksum"  # or the RFC 9530 field the checksum came from
    # The whole upload's digest (Repr-Digest on the completing append), checked once the upload is complete; it
    # takes the place of one stated at creation.
    whole_digest: Checksum | None = None


@dataclass(frozen=True)
class AppendPlan:
    """What the server will do: maybe fix the length first, then read at most `limit` bytes (None: unbounded)."""

    declare_length: int | None
    limit: int | None


def has_offset_body(headers: Headers) -> bool:
    return media_type(headers.get("Content-Type")) == OFFSET_CONTENT_TYPE


def parse_append(headers: Headers, *, offset: int | None = None) -> AppendRequest:
    """Read a PATCH's headers; `offset` is given for a POST with data, which starts at 0."""
    if not has_offset_body(headers):
        raise TusError(
            415,
            "unsupported_media_type",
            f"the body must have Content-Type: {OFFSET_CONTENT_TYPE}",
            {"content_type": (headers.get("Content-Type") or "")[:200]},
        )
    declared_length = None
    if offset is None:
        value = headers.get("Upload-Offset")
        if value is None:
            raise TusError(400, "missing_offset", "Upload-Offset is required")
        offset = parse_uint("Upload-Offset", value)
        declared_length = optional_uint(headers, "Upload-Length")  # on a POST it is the creation length
    checksum_header = headers.get("Upload-Checksum")
    return AppendRequest(
        offset=offset,
        declared_length=declared_length,
        checksum=parse_checksum(checksum_header) if checksum_header is not None else None,
        content_length=optional_uint(headers, "Content-Length"),
    )


def plan_append(info: UploadInfo, request: AppendRequest, *, max_size: int | None) -> AppendPlan:
    """Every check that needs the upload's state, in the order a client can act on."""
    if info.is_final:
        raise TusError(403, "final_upload_is_read_only", "a final (concatenated) upload cannot be patched")
    if request.offset != info.offset:
        raise TusError(
            409,
            "offset_mismatch",
            f"Upload-Offset is {request.offset} but the upload is at {info.offset}",
            {"expected_offset": info.offset, "received_offset": request.offset},
            headers={"Upload-Offset": str(info.offset)},
        )
    declare = _declared_length(info, request.declared_length, max_size, restating=request.consistent_length)
    size = declare if declare is not None else info.size
    if size is not None:
        limit: int | None = size - info.offset
    elif max_size is not None:
        limit = max_size - info.offset
    else:
        limit = None
    if limit is not None and request.content_length is not None and request.content_length > limit:
        raise TusError(
            413,
            "body_exceeds_length",
            f"the body of {request.content_length} bytes exceeds the {limit} bytes left in this upload",
            {"content_length": request.content_length, "remaining": limit},
        )
    return AppendPlan(declare, limit)


def _declared_length(
    info: UploadInfo, length: int | None, max_size: int | None, *, restating: bool = False
) -> int | None:
    if length is None:
        return None
    if restating and info.size is not None:
        if length != info.size:
            raise TusError(
                400,
                "inconsistent_upload_length",
                f"the request states a length of {length} but the upload's is {info.size}",
                {"stated_length": length, "upload_length": info.size},
            )
        return None
    if not info.is_deferred:
        raise TusError(
            400,
            "length_already_set",
            "Upload-Length can only be sent once, for an upload created with Upload-Defer-Length",
        )
    if length < info.offset:
        raise TusError(
            400,
            "length_below_offset",
            f"Upload-Length {length} is smaller than the {info.offset} bytes already stored",
        )
    if max_size is not None and length > max_size:
        raise TusError(
            400,
            "length_above_maximum",
            f"Upload-Length {length} exceeds the maximum of {max_size} bytes",
            {"max_size": max_size},
        )
    return length
