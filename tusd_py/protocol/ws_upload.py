"""The WebSocket upload protocol: what a client may send (parsed strictly) and the typed messages it gets back."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tusd_py.protocol.checksum import Checksum, parse_checksum
from tusd_py.protocol.creation import CreationRequest, parse_creation
from tusd_py.protocol.errors import TusError
from tusd_py.protocol.headers import Headers
from tusd_py.protocol.ids import is_valid_upload_id
from tusd_py.protocol.metadata import format_metadata

# Message fields that become metadata of the upload, under the keys tus clients use for them.
METADATA_FIELDS = {"filename": "filename", "content_type": "filetype", "batch": "batch", "batch_total": "batch_total"}


@dataclass(frozen=True)
class Create:
    """Start a new upload: its length (None: deferred) and metadata."""

    size: int | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Resume:
    upload_id: str


@dataclass(frozen=True)
class Segment:
    """The next `length` bytes form one append, verified against `checksum` before they count."""

    length: int
    checksum: Checksum | None


@dataclass(frozen=True)
class DeclareLength:
    size: int


@dataclass(frozen=True)
class Ping:
    pass


ClientMessage = Create | Resume | Segment | DeclareLength | Ping


def invalid(message: str, **details: Any) -> TusError:
    return TusError(400, "invalid_message", message, details)


def parse_client_message(text: str) -> ClientMessage:
    """One JSON text frame from the client; anything malformed is a 400 `invalid_message`."""
    try:
        message = json.loads(text)
    except ValueError:
        raise invalid("messages are JSON objects with a type") from None
    if not isinstance(message, dict):
        raise invalid("messages are JSON objects with a type")
    kind = message.get("type")
    if kind == "create":
        return _create(message)
    if kind == "resume":
        upload_id = message.get("upload_id")
        if not isinstance(upload_id, str) or not is_valid_upload_id(upload_id):
            raise invalid("resume needs the upload_id of an upload", field="upload_id")
        return Resume(upload_id)
    if kind == "segment":
        checksum = message.get("checksum")
        if checksum is not None and not isinstance(checksum, str):
            raise invalid("checksum is '<algorithm> <base64 digest>'", field="checksum")
        return Segment(_size(message, "length"), parse_checksum(checksum) if checksum is not None else None)
    if kind == "length":
        return DeclareLength(_size(message, "size"))
    if kind == "ping":
        return Ping()
    raise invalid("type must be create, resume, segment, length or ping", type=str(kind)[:40])


def _size(message: dict[str, Any], name: str) -> int:
    value = message.get(name)
    if type(value) is not int or value < 0 or value >= 2**63:
        raise invalid(f"{name} must be a non-negative integer", field=name)
    return value


def _create(message: dict[str, Any]) -> Create:
    size = message.get("size")
    if size is not None:
        size = _size(message, "size")
    metadata = message.get("metadata", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise invalid("metadata is an object of string values", field="metadata")
    metadata = dict(metadata)
    for name, key in METADATA_FIELDS.items():
        value = message.get(name)
        if value is None:
            continue
        if type(value) is int and name == "batch_total":
            value = str(value)
        if not isinstance(value, str):
            raise invalid(f"{name} must be a string", field=name)
        metadata[key] = value
    return Create(size, metadata)


def creation_request(
    create: Create, *, max_size: int | None, max_metadata_pairs: int, max_metadata_size: int
) -> CreationRequest:
    """The same creation a POST would make, checked by the same rules (length, metadata bounds, max size)."""
    if not all(key.isascii() for key in create.metadata):
        raise invalid("metadata keys must be ASCII without spaces or commas", field="metadata")
    headers = [(b"upload-metadata", format_metadata(create.metadata).encode("ascii"))]
    if create.size is None:
        headers.append((b"upload-defer-length", b"1"))
    else:
        headers.append((b"upload-length", str(create.size).encode()))
    request = parse_creation(
        Headers(headers),
        max_size=max_size,
        max_metadata_pairs=max_metadata_pairs,
        max_metadata_size=max_metadata_size,
    )
    # Keep the values as sent: the header form was only the common gate.
    return CreationRequest(request.length, request.deferred, dict(create.metadata), request.raw_metadata)


# -- what the server sends -------------------------------------------------------------------------


def status_message(status: str, message: str, **fields: Any) -> dict[str, Any]:
    return {"type": "status", "status": status, "message": message, **fields}


def progress_message(
    offset: int, length: int | None, bytes_per_second: float | None, eta_seconds: float | None
) -> dict[str, Any]:
    """The acknowledgement of stored bytes, with the figures a progress bar shows."""
    percentage = None if length is None else (100.0 if length == 0 else round(100.0 * offset / length, 2))
    of = f" of {length}" if length is not None else ""
    share = f" ({percentage:g}%)" if percentage is not None else ""
    return {
        "type": "progress",
        "offset": offset,
        "length": length,
        "percentage": percentage,
        "bytes_per_second": None if bytes_per_second is None else round(bytes_per_second, 1),
        "eta_seconds": None if eta_seconds is None else round(eta_seconds, 2),
        "message": f"stored {offset}{of} bytes{share}",
    }


def success_message(data: dict[str, Any], message: str) -> dict[str, Any]:
    return {"type": "success", "data": data, "message": message}


def error_message(error: TusError, offset: int | None = None) -> dict[str, Any]:
    return {"type": "error", "status": error.status, **error.body(), "offset": offset}
