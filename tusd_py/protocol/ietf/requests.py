"""Reading a draft request: creation and append headers into the same requests tus 1.0 makes, and the length
the draft lets a client state two ways (Upload-Length, or Content-Length with Upload-Complete: ?1)."""

from __future__ import annotations

import re

from tusd_py.protocol.checksum import Checksum
from tusd_py.protocol.creation import CreationRequest, check_max_size
from tusd_py.protocol.digests import parse_digest
from tusd_py.protocol.errors import TusError, bad_header
from tusd_py.protocol.headers import Headers, media_type, optional_uint
from tusd_py.protocol.ietf.dialects import Dialect
from tusd_py.protocol.ietf.fields import parse_boolean, parse_integer
from tusd_py.protocol.metadata import parse_metadata
from tusd_py.protocol.patch import AppendRequest

_FILENAME = re.compile(r'filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))', re.IGNORECASE)
# Content types that say how the body is framed, not what the upload is: not recorded as its type.
_FRAMING_TYPES = {"application/partial-upload", "application/offset+octet-stream", ""}


def is_draft_upload(headers: Headers, dialect: Dialect) -> bool:
    return dialect.completion_header in headers


def completes(headers: Headers, dialect: Dialect) -> bool:
    """Whether the request's body ends the upload: `Upload-Complete: ?1`, or in interop 3 `Upload-Incomplete: ?0`."""
    name = dialect.completion_header
    value = headers.get(name)
    if value is None:
        raise TusError(400, "missing_upload_complete", f"{name} is required on an upload request", {"header": name})
    flag = parse_boolean(name, value)
    return not flag if dialect.incomplete_header else flag


def inconsistent_length(message: str, **details: int | None) -> TusError:
    return TusError(400, "inconsistent_upload_length", message, dict(details))


def stated_length(headers: Headers, *, offset: int, complete: bool) -> int | None:
    """The upload's length as this request states it, if it does; two statements that differ are a 400."""
    value = headers.get("Upload-Length")
    declared = parse_integer("Upload-Length", value) if value is not None else None
    content_length = optional_uint(headers, "Content-Length")
    implied = offset + content_length if complete and content_length is not None else None
    if declared is not None and implied is not None and declared != implied:
        raise inconsistent_length(
            f"Upload-Length {declared} contradicts the {implied} bytes implied by Content-Length and completion",
            upload_length=declared,
            implied_length=implied,
        )
    return declared if declared is not None else implied


def parse_draft_creation(
    headers: Headers, dialect: Dialect, *, max_size: int | None, max_metadata_pairs: int = 256
) -> tuple[CreationRequest, AppendRequest]:
    """A creation: the upload to make (deferred length unless stated) and its body, appended at offset 0."""
    complete = completes(headers, dialect)
    length = stated_length(headers, offset=0, complete=complete)
    if length is not None:
        check_max_size(length, max_size)
    raw_metadata = headers.get("Upload-Metadata")
    metadata = parse_metadata(raw_metadata, max_pairs=max_metadata_pairs) if raw_metadata is not None else {}
    metadata = {**representation_metadata(headers), **metadata}
    creation = CreationRequest(
        length,
        deferred=length is None,
        metadata=metadata,
        raw_metadata=raw_metadata,
        protocol=f"ietf-draft-{dialect.version}",
        expected_digest=None if complete else stated_digest(headers),
    )
    checksum, field = body_digest(headers, whole=complete)
    body = AppendRequest(
        offset=0,
        content_length=optional_uint(headers, "Content-Length"),
        completes=complete,
        consistent_length=True,
        checksum=checksum,
        checksum_field=field,
    )
    return creation, body


def parse_draft_append(headers: Headers, dialect: Dialect) -> AppendRequest:
    required = dialect.append_media_type
    if required is not None and media_type(headers.get("Content-Type")) != required:
        raise TusError(
            415,
            "unsupported_media_type",
            f"an append must have Content-Type: {required}",
            {"content_type": (headers.get("Content-Type") or "")[:200]},
        )
    offset_header = headers.get("Upload-Offset")
    if offset_header is None:
        raise TusError(400, "missing_offset", "Upload-Offset is required")
    offset = parse_integer("Upload-Offset", offset_header)
    complete = completes(headers, dialect)
    checksum, field = body_digest(headers, whole=False)
    return AppendRequest(
        offset=offset,
        checksum=checksum,
        checksum_field=field,
        # The completing append may state the whole upload's digest: checked when the upload is complete.
        whole_digest=stated_digest(headers) if complete else None,
        declared_length=stated_length(headers, offset=offset, complete=complete),
        content_length=optional_uint(headers, "Content-Length"),
        completes=complete,
        consistent_length=True,
    )


def body_digest(headers: Headers, *, whole: bool) -> tuple[Checksum | None, str]:
    """The digest to verify this body against: `Content-Digest`, or `Repr-Digest` when the body is the whole
    representation (a one-shot creation). The field's name comes along, for the error a mismatch gets."""
    for name in ("Content-Digest", "Repr-Digest") if whole else ("Content-Digest",):
        value = headers.get(name)
        checksum = parse_digest(name, value) if value is not None else None
        if checksum is not None:
            return checksum, name
    return None, "Upload-Checksum"


def stated_digest(headers: Headers) -> Checksum | None:
    """The whole upload's digest (Repr-Digest, sha-512 or sha-256) stated by a request whose body does not
    complete it, or by the completing append: checked against the upload's bytes once all of them are there."""
    value = headers.get("Repr-Digest")
    return parse_digest("Repr-Digest", value) if value is not None else None


def refuse_upload_fields(headers: Headers, dialect: Dialect) -> None:
    """Drafts -01 to -05: offset retrieval and cancellation MUST refuse these fields with a 400."""
    if not dialect.strict_retrieval:
        return
    for name in ("Upload-Offset", dialect.completion_header, "Upload-Length"):
        if name in headers:
            raise bad_header(name, "is not allowed on offset retrieval or cancellation in this interop version")


def representation_metadata(headers: Headers) -> dict[str, str]:
    """What the creation request says of the representation: its media type and file name, as tus metadata."""
    metadata = {}
    content_type = headers.get("Content-Type")
    if content_type is not None and media_type(content_type) not in _FRAMING_TYPES:
        metadata["filetype"] = content_type.strip()[:200]
    disposition = headers.get("Content-Disposition")
    match = _FILENAME.search(disposition) if disposition else None
    if match is not None:
        name = match.group(1) if match.group(1) is not None else match.group(2)
        metadata["filename"] = name.replace('\\"', '"')[:255]
    return metadata
