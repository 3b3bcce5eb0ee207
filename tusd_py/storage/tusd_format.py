"""tusd's `.info` JSON, read and written so an upload directory moves between tusd and tusd_py both ways."""

from __future__ import annotations

from typing import Any

from tusd_py.protocol.checksum import Checksum
from tusd_py.protocol.errors import TusError
from tusd_py.protocol.info import UploadInfo

# tusd ignores keys it does not know, so tusd_py keeps its own bookkeeping under one extra key.
EXTRA_KEY = "TusdPy"


def info_to_json(info: UploadInfo) -> dict[str, Any]:
    extra: dict[str, Any] = {"created_at": info.created_at}
    if info.raw_metadata is not None:
        extra["raw_metadata"] = info.raw_metadata
    if info.concat_pending:
        extra["concat_pending"] = True
    if info.completed_at is not None:
        extra["completed_at"] = info.completed_at
    if info.owner is not None:
        extra["owner"] = info.owner
    if info.processing is not None:
        extra["processing"] = info.processing
    if info.source is not None:
        extra["source"] = info.source
    if info.protocol != "tus":
        extra["protocol"] = info.protocol
    if info.sha256 is not None:
        extra["sha256"] = info.sha256.hex()
    if info.expected_digest is not None:
        stated = info.expected_digest
        extra["expected_digest"] = {"algorithm": stated.algorithm, "digest": stated.digest.hex()}
    return {**tusd_upload(info, dict(info.storage)), EXTRA_KEY: extra}


def tusd_upload(info: UploadInfo, storage: dict[str, str] | None) -> dict[str, Any]:
    """An upload as tusd describes it, in its `.info` files and in its hook requests alike."""
    return {
        "ID": info.id,
        "Size": info.size if info.size is not None else 0,
        "SizeIsDeferred": info.size is None,
        "Offset": info.offset,
        "MetaData": dict(info.metadata),
        "IsPartial": info.is_partial,
        "IsFinal": info.is_final,
        "PartialUploads": list(info.partial_uploads) if info.partial_uploads is not None else None,
        "Storage": storage,
    }


def settle_completion(info: UploadInfo, data: dict[str, Any], *, completed_at: float) -> None:
    """An upload tusd wrote (no tusd_py key) that is complete counts as completed when its bytes last changed;
    one of tusd_py's own that is complete without `completed_at` had its completion interrupted (a full disk),
    and is left so, for the service to complete it."""
    if EXTRA_KEY not in data and info.is_complete and info.completed_at is None:
        info.completed_at = completed_at


def info_from_json(data: dict[str, Any], *, fallback_created_at: float) -> UploadInfo:
    """Accepts exactly what tusd writes (no extra key) as well as what tusd_py writes."""
    if not isinstance(data, dict):
        raise TypeError("an upload's info is a JSON object")
    extra = data.get(EXTRA_KEY) or {}
    metadata = data.get("MetaData") or {}
    partials = data.get("PartialUploads")
    deferred = bool(data.get("SizeIsDeferred"))
    return UploadInfo(
        id=str(data["ID"]),
        size=None if deferred else int(data.get("Size") or 0),
        offset=int(data.get("Offset") or 0),
        metadata={str(key): str(value) for key, value in metadata.items()},
        raw_metadata=extra.get("raw_metadata"),
        is_partial=bool(data.get("IsPartial")),
        is_final=bool(data.get("IsFinal")),
        partial_uploads=[str(p) for p in partials] if partials is not None else None,
        concat_pending=bool(extra.get("concat_pending", False)),
        created_at=float(extra.get("created_at", fallback_created_at)),
        completed_at=extra.get("completed_at"),
        owner=extra.get("owner"),
        processing=extra.get("processing"),
        source=extra.get("source"),
        protocol=str(extra.get("protocol", "tus")),
        sha256=bytes.fromhex(extra["sha256"]) if isinstance(extra.get("sha256"), str) else None,
        expected_digest=_expected_digest(extra.get("expected_digest")),
        storage={str(k): str(v) for k, v in (data.get("Storage") or {}).items()},
    )


def _expected_digest(value: object) -> Checksum | None:
    """A stated digest as info_to_json writes it; anything else (a hand-edited file) is no digest."""
    if not isinstance(value, dict) or value.get("algorithm") not in ("sha256", "sha512"):
        return None
    try:
        return Checksum(str(value["algorithm"]), bytes.fromhex(str(value.get("digest"))))
    except ValueError:
        return None


def unreadable_info(upload_id: str, what: str) -> TusError:
    """410 for an upload whose info (`what`: its file, its object) cannot be parsed."""
    return TusError(
        410,
        "upload_info_unreadable",
        f"the upload's {what} is empty or damaged, so the upload cannot be served; DELETE removes what is left",
        {"upload_id": upload_id},
    )
