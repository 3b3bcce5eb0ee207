"""The one error type: a status, a stable machine-readable code, a human message and details."""

from __future__ import annotations

import errno
from typing import Any


class TusError(Exception):
    """An error that becomes an HTTP response: `{"error_code", "error_message", "details"}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error_code": self.code, "error_message": self.message, "details": self.details}

    def __repr__(self) -> str:
        return f"TusError({self.status}, {self.code!r}, {self.message!r})"


def bad_header(name: str, problem: str, value: str | None = None) -> TusError:
    details: dict[str, Any] = {"header": name}
    if value is not None:
        details["value"] = value[:200]
    return TusError(400, "invalid_header", f"{name}: {problem}", details)


def out_of_space(error: BaseException) -> TusError | None:
    """A full disk (or quota) as the 507 it is; None for any other failure."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return TusError(507, "insufficient_storage", "the server has no space left for this upload")
    return None


def upload_not_found(upload_id: str) -> TusError:
    return TusError(404, "upload_not_found", "no upload with this id", {"upload_id": upload_id[:200]})


def upload_gone(upload_id: str, reason: str) -> TusError:
    return TusError(410, "upload_gone", f"the upload is no longer available: {reason}", {"upload_id": upload_id})
