"""What a draft response carries: the completion field, offset, length, Upload-Limit, and problem details."""

from __future__ import annotations

import math
from typing import Any

from tusd_py.protocol.errors import TusError
from tusd_py.protocol.ietf.dialects import COMPLETED, INCONSISTENT, INTEROP_HEADER, MISMATCH, Dialect
from tusd_py.protocol.ietf.fields import format_boolean, format_dictionary
from tusd_py.protocol.info import UploadInfo

PROBLEM_BASE = "https://iana.org/assignments/http-problem-types#"
PROBLEM_JSON = "application/problem+json"
# Our error codes that are one of the draft's problem types, with the title its examples give.
_PROBLEM_TYPES = {
    "offset_mismatch": (MISMATCH, "offset from request does not match offset of resource"),
    "inconsistent_upload_length": (INCONSISTENT, "inconsistent length values for upload"),
    "completed_upload": (COMPLETED, "upload is already completed"),
}


def completion_field(dialect: Dialect, complete: bool) -> dict[str, str]:
    if dialect.incomplete_header:
        return {"Upload-Incomplete": format_boolean(not complete)}
    return {"Upload-Complete": format_boolean(complete)}


def limits(
    dialect: Dialect, *, max_size: int | None, lifetime: float | None, max_append_size: int | None = None
) -> dict[str, str]:
    """`Upload-Limit` where the version has it: `max-size`, `min-size=0` (as the draft asks of a server with no
    minimum), and the remaining lifetime in whole seconds under the version's key (`expires`, later `max-age`)."""
    if dialect.limit_age_key is None:
        return {}
    members: dict[str, int] = {}
    if max_size is not None:
        members["max-size"] = max_size
    members["min-size"] = 0
    if max_append_size is not None:
        members["max-append-size"] = max_append_size
    if lifetime is not None:
        members[dialect.limit_age_key] = max(0, math.floor(lifetime))
    return {"Upload-Limit": format_dictionary(members)}


def version_field(dialect: Dialect) -> dict[str, str]:
    return {INTEROP_HEADER: str(dialect.version)}


def state_fields(dialect: Dialect, info: UploadInfo, *, retrieval: bool = False) -> dict[str, str]:
    """Offset and completion on every success; the length on offset retrieval where the version defines it."""
    headers = {**version_field(dialect), **completion_field(dialect, info.is_complete)}
    if not info.concat_pending:
        headers["Upload-Offset"] = str(info.offset)
    if retrieval and dialect.upload_length and info.size is not None:
        headers["Upload-Length"] = str(info.size)
    return headers


def problem(dialect: Dialect, error: TusError) -> tuple[dict[str, Any], str]:
    """The error's body and media type in this version's terms: RFC 9457 problem details from interop 6 (with
    the draft's type where one fits, else `about:blank`), our JSON error before it. Both keep our own members,
    so a client reading `error_code` works with either."""
    if not dialect.problems:
        return error.body(), "application/json"
    kind, title = _PROBLEM_TYPES.get(error.code, (None, None))
    body: dict[str, Any] = {"type": "about:blank", "title": error.message, "status": error.status}
    if kind is not None and kind in dialect.problems:
        body.update(type=PROBLEM_BASE + kind, title=title, detail=error.message)
    if kind == MISMATCH:
        body["expected-offset"] = error.details.get("expected_offset")
        body["provided-offset"] = error.details.get("received_offset")
    body.update(error.body())
    return body, PROBLEM_JSON


def error_fields(dialect: Dialect, error: TusError) -> dict[str, str]:
    """A mismatch MUST say `Upload-Complete: ?0`; every draft error names the version it speaks."""
    headers = version_field(dialect)
    if error.code in ("offset_mismatch", "completed_upload", "inconsistent_upload_length"):
        headers.update(completion_field(dialect, error.code == "completed_upload"))
    return headers
