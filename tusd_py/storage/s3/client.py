"""The S3 client (aiobotocore) and what its errors mean to a tus client.

aiobotocore: botocore's own request building, signing and credential chain (AWS_* variables, AWS_PROFILE, the
shared files, instance roles) on aiohttp, with every call tusd_py needs: multipart uploads, ListParts,
UploadPartCopy and presigned URLs.

Errors: S3 unreachable (refused, reset, timed out) is 503 `storage_unavailable` with Retry-After; S3 answering with
an error tusd_py cannot act on (5xx, access denied) is 502 `storage_error`. Either way what was stored stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tusd_py.protocol.errors import TusError

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
else:
    S3Client = Any

NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NoSuchUpload", "NotFound"})


@dataclass(frozen=True)
class S3Config:
    bucket: str
    endpoint: str | None = None
    region: str | None = None
    prefix: str = ""
    part_size: int = 8 * 2**20
    concurrency: int = 4
    presign_downloads: float | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 60.0


def _botocore_errors() -> tuple[type[BaseException], type[BaseException], type[BaseException]]:
    import botocore.exceptions

    return (
        botocore.exceptions.ClientError,
        botocore.exceptions.BotoCoreError,
        botocore.exceptions.NoCredentialsError,
    )


def error_code(error: BaseException) -> str | None:
    """S3's error code (`NoSuchKey`, `404`, `AccessDenied`…) of a ClientError; None for anything else."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    if code is None:
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return str(status) if status is not None else None
    return str(code)


def is_not_found(error: BaseException) -> bool:
    return error_code(error) in NOT_FOUND_CODES


def is_s3_error(error: BaseException) -> bool:
    client_error, core_error, _ = _botocore_errors()
    return isinstance(error, (client_error, core_error, OSError, asyncio.TimeoutError))


def s3_failure(error: BaseException, doing: str, upload_id: str | None = None) -> TusError:
    """The tus answer to an S3 call that failed: 503 when S3 could not be reached, 502 when it refused."""
    details: dict[str, Any] = {"doing": doing}
    if upload_id is not None:
        details["upload_id"] = upload_id
    code = error_code(error)
    if type(error).__name__ == "NoCredentialsError":
        return TusError(
            503,
            "storage_unavailable",
            "no AWS credentials were found (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the shared"
            " files) to reach S3",
            details,
        )
    if code is None:
        return TusError(
            503,
            "storage_unavailable",
            f"S3 could not be reached while {doing} ({type(error).__name__}); what was stored stays, retry shortly",
            details,
            {"Retry-After": "5"},
        )
    details["s3_error"] = code
    return TusError(
        502,
        "storage_error",
        f"S3 answered {code} while {doing}; what was stored stays",
        details,
        {"Retry-After": "5"},
    )


_models: Any = None  # botocore's loader of service models, which caches them once parsed


def _new_session() -> Any:
    """A fresh aiobotocore session (its own credential lookup) sharing one model loader with the others: parsing
    S3's service model again costs 0.3 to 0.8 s of CPU for every store, which tests and embedders make many of."""
    global _models
    from aiobotocore.session import get_session

    session = get_session()
    if _models is None:
        _models = session.get_component("data_loader")
    else:
        session.register_component("data_loader", _models)
    return session


class Connection:
    """One aiobotocore client per event loop, made on first use and closed by `close()`."""

    def __init__(self, config: S3Config) -> None:
        self.config = config
        self._client: S3Client | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Lock | None = None

    def _client_config(self) -> Any:
        from aiobotocore.config import AioConfig

        return AioConfig(
            connect_timeout=self.config.connect_timeout,
            read_timeout=self.config.read_timeout,
            signature_version="s3v4",  # presigned URLs too (botocore would presign with SigV2)
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=max(10, self.config.concurrency * 4),
            s3={"addressing_style": "path" if self.config.endpoint else "auto"},
            # The body's integrity is S3's Content-MD5-free default on a signed request: no extra CRC pass.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )

    async def client(self) -> S3Client:
        loop = asyncio.get_running_loop()
        if self._client is not None and self._loop is loop:
            return self._client
        if self._opening is None or self._loop is not loop:
            self._opening = asyncio.Lock()
            self._client, self._stack, self._loop = None, None, loop
        async with self._opening:
            if self._client is None:
                session = _new_session()
                region = (
                    self.config.region
                    or os.environ.get("AWS_REGION")
                    or os.environ.get("AWS_DEFAULT_REGION")
                    or session.get_config_variable("region")
                    or "us-east-1"
                )
                stack = contextlib.AsyncExitStack()
                self._client = await stack.enter_async_context(
                    session.create_client(
                        "s3", endpoint_url=self.config.endpoint, region_name=region, config=self._client_config()
                    )
                )
                self._stack = stack
        assert self._client is not None
        return self._client

    async def close(self) -> None:
        stack, self._client, self._stack = self._stack, None, None
        if stack is not None and self._loop is asyncio.get_running_loop():
            await stack.aclose()


async def calling(
    doing: str, call: Callable[[], Any], upload_id: str | None = None, *, missing_ok: bool = False
) -> Any:
    """Await `call()`, turning S3's failures into tus answers; None for a missing object when `missing_ok`."""
    try:
        return await call()
    except TusError:
        raise
    except Exception as error:
        if missing_ok and is_not_found(error):
            return None
        if is_s3_error(error):
            raise s3_failure(error, doing, upload_id) from error
        raise
