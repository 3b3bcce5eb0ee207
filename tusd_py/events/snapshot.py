"""The progress snapshot of one upload (GET …/progress, and each row of the listing)."""

from __future__ import annotations

from typing import Any

from tusd_py.events.batches import batch_of
from tusd_py.events.models import Event, utc_timestamp
from tusd_py.events.publisher import percentage
from tusd_py.protocol.info import UploadInfo
from tusd_py.protocol.representation import content_type, filename

STATUSES = ("created", "uploading", "completed", "processing", "processed", "failed", "terminated", "expired")
_BEFORE_COMPLETION = ("created", "uploading")


_PIPELINE_STATUS = {"pending": "processing", "processing": "processing", "processed": "processed", "failed": "failed"}


def status_of(info: UploadInfo, latest: Event | None) -> str:
    """The pipeline's state once there is one (it is stored before it is told); else the latest event's status;
    else what the stored upload shows."""
    pipeline_status = _PIPELINE_STATUS.get(str((info.processing or {}).get("status")))
    if info.is_complete and pipeline_status is not None:
        return pipeline_status
    if not info.is_complete and (info.source or {}).get("status") == "failed":
        return "failed"  # an import that gave up: never listed as finished
    # The stored upload is ahead of its events (they are published after it is stored): a completed upload
    # whose latest event still says created or uploading is completed.
    lagging = latest is not None and latest.status in _BEFORE_COMPLETION and info.is_complete
    if latest is not None and latest.status in STATUSES and not lagging:
        return latest.status
    if info.is_complete:
        return "completed"
    return "uploading" if info.offset > 0 else "created"


def upload_snapshot(
    info: UploadInfo,
    *,
    url: str,
    status: str,
    speed: float | None,
    eta: float | None,
    expires_at: float | None,
    now: float,
) -> dict[str, Any]:
    declared_type = content_type(info.metadata)
    return {
        "id": info.id,
        "url": url,
        "status": status,
        "offset": info.offset,
        "length": info.size,
        "percentage": percentage(info.offset, info.size) if not info.concat_pending else 0.0,
        "bytes_per_second": speed,
        "eta_seconds": round(eta, 1) if eta is not None else None,
        "estimated_completion": utc_timestamp(now + eta) if eta is not None else None,
        "filename": filename(info.metadata),
        "filetype": declared_type
        if declared_type != "application/octet-stream" or "filetype" in info.metadata
        else None,
        "metadata": dict(info.metadata),
        "batch": batch_of(info),
        "created_at": utc_timestamp(info.created_at),
        "updated_at": utc_timestamp(max(info.updated_at, info.created_at)),
        "completed_at": utc_timestamp(info.completed_at) if info.completed_at else None,
        "expires_at": utc_timestamp(expires_at) if expires_at else None,
        "download_url": url if info.is_complete else None,
        "processing": processing_view(info),
        "source": dict(info.source) if info.source is not None else None,
        "protocol": info.protocol,
    }


def processing_view(info: UploadInfo) -> dict[str, Any] | None:
    """The pipeline's state for clients: status, the current or failed stage, its progress, result or error."""
    state = info.processing
    if state is None:
        return None
    keys = ("status", "stage", "stage_progress", "message", "result", "error_code", "error_message")
    return {key: state[key] for key in keys if key in state}
