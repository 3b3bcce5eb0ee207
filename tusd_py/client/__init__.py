"""The resumable tus uploader behind `tusd-py upload`, usable from Python: `async with Uploader(options) as u: ...`."""

from __future__ import annotations

from tusd_py.client.capabilities import ServerCapabilities
from tusd_py.client.errors import (
    ClientError,
    ExitCode,
    MissingCapability,
    RetriesExhausted,
    TransientError,
    UploadGone,
    UploadRejected,
    UsageError,
)
from tusd_py.client.fingerprint import FileIdentity, fingerprint
from tusd_py.client.retry import RetryPolicy
from tusd_py.client.uploader import Uploader, UploadListener, UploadOptions, UploadResult
from tusd_py.client.url_store import StoredUpload, URLStore, default_store_path

__all__ = [
    "ClientError",
    "ExitCode",
    "FileIdentity",
    "MissingCapability",
    "RetriesExhausted",
    "RetryPolicy",
    "ServerCapabilities",
    "StoredUpload",
    "TransientError",
    "URLStore",
    "UploadGone",
    "UploadListener",
    "UploadOptions",
    "UploadRejected",
    "UploadResult",
    "Uploader",
    "UsageError",
    "default_store_path",
    "fingerprint",
]
