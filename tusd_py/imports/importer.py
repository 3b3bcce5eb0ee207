"""Importer: creates the upload at once, then fetches the URL in the background with bounded retries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from tusd_py.auth.principal import Principal
from tusd_py.hooks.models import RequestOrigin
from tusd_py.imports.body import SourceBody, no_body
from tusd_py.imports.source import CheckedTarget, SourceClient, SourcePolicy, Validator, check_target
from tusd_py.protocol.creation import CreationRequest
from tusd_py.protocol.errors import TusError
from tusd_py.protocol.info import UploadInfo
from tusd_py.protocol.patch import AppendRequest
from tusd_py.uploads.service import UploadService

log = logging.getLogger("tusd_py.imports")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
SOURCE_URL_KEY = "source_url"
GONE = {"upload_not_found", "upload_gone"}


@dataclass(frozen=True)
class ImportRequest:
    url: str
    filename: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    batch: str | None = None


@dataclass(frozen=True)
class ImportLimits:
    max_size: int | None = None
    retries: int = 3
    total_timeout: float = 3600.0
    backoff: float = 0.5


class Retry(Exception):
    """This attempt failed in a way another attempt may not: a dropped connection, a 5xx, a timeout."""

    def __init__(self, error: TusError) -> None:
        super().__init__(error.message)
        self.error = error


class Failed(Exception):
    def __init__(self, error: TusError) -> None:
        super().__init__(error.message)
        self.error = error


class Stop(Exception):
    """The upload was removed (DELETE cancels an import) or the server is stopping: nothing left to record."""


@dataclass
class Fetch:
    """One import in flight: where it goes, what identifies the source's version."""

    upload_id: str
    checked: CheckedTarget
    validator: Validator | None = None
    described: bool = False


class Importer:
    def __init__(
        self, service: UploadService, policy: SourcePolicy, limits: ImportLimits, *, rescan_interval: float = 60.0
    ) -> None:
        self.service = service
        self.rescan_interval = rescan_interval
        self.policy = policy
        self.limits = limits
        self.client = SourceClient(policy)
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._resuming: asyncio.Task[None] | None = None

    async def start(
        self, request: ImportRequest, principal: Principal | None, origin: RequestOrigin | None
    ) -> UploadInfo:
        """Check the URL and its addresses, create the upload (pre-create hooks see `source_url` in its
        metadata), and fetch in the background."""
        checked = await check_target(request.url, self.policy)
        metadata = dict(request.metadata)
        metadata.setdefault(SOURCE_URL_KEY, checked.target.url)
        name = request.filename or _name_in(checked.target.path)
        if name:
            metadata.setdefault("filename", name)
        if request.batch is not None:
            metadata["batch"] = request.batch
        info = await self.service.create(
            CreationRequest(length=None, deferred=True, metadata=metadata),
            principal=principal,
            origin=origin,
            source={"type": "url", "url": checked.target.url, "status": "importing", "attempts": 1},
        )
        self._spawn(info.id, partial(self._run, Fetch(info.id, checked)))
        return info

    def _spawn(self, upload_id: str, work: Callable[[], Awaitable[None]]) -> None:
        self.tasks[upload_id] = asyncio.create_task(self._claimed(upload_id, work), name=f"import {upload_id}")

    async def _claimed(self, upload_id: str, work: Callable[[], Awaitable[None]]) -> None:
        """One fetch per import across instances sharing a store: whoever holds `import:<id>` runs it."""
        try:
            claim = await self.service.locker.acquire(f"import:{upload_id}", timeout=0, interrupt=False)
        except TusError:
            self.tasks.pop(upload_id, None)
            return  # another instance is fetching it
        try:
            await work()
        finally:
            self.tasks.pop(upload_id, None)
            await claim.release()

    def start_resuming(self) -> None:
        """From start-up, in the background: go on with the imports left unfinished by a server that stopped
        or died (this one before its restart, or another instance sharing the store), now and every
        `rescan_interval` seconds."""
        self._resuming = asyncio.create_task(self._resume_forever(), name="resume imports")

    async def _resume_forever(self) -> None:
        while True:
            try:
                await self.resume()
            except Exception:
                log.exception("looking for interrupted imports failed")
            await asyncio.sleep(self.rescan_interval)

    async def resume(self) -> int:
        """Take up every import the store says is still `importing` that nobody fetches. Returns how many
        were found (some may turn out to be another instance's)."""
        found = 0
        async for info in self.service.store.iter_infos():
            source = info.source or {}
            if source.get("type") != "url" or source.get("status") != "importing" or info.id in self.tasks:
                continue
            found += 1
            self._spawn(info.id, partial(self._resume, info.id))
        return found

    async def _resume(self, upload_id: str) -> None:
        """The source is checked against the policy again, then asked for the rest with a Range request
        (If-Range: the ETag or Last-Modified it sent) or, when it cannot, read again from its start, skipping
        what is stored."""
        try:
            info = await self.service.load(upload_id)
        except TusError:
            return  # removed meanwhile
        source = info.source or {}
        if source.get("status") != "importing":
            return  # finished by the instance that held it until now
        log.info("import into %s was interrupted at %d bytes: resuming it", upload_id, info.offset)
        etag, modified = source.get("etag"), source.get("last_modified")
        validator = Validator(etag, modified) if etag is not None or modified is not None else None
        try:
            checked = await check_target(source.get("url"), self.policy)
        except TusError as error:  # refused now (--import-allow changed) or no longer resolvable
            await self._fail(upload_id, error)
            return
        resumes = int(source.get("resumes") or 0) + 1
        if await self.service.record_source(upload_id, {"resumes": resumes}) is not None:
            await self._run(Fetch(upload_id, checked, validator, described="length" in source))

    async def stop(self) -> None:
        """At shutdown: end every fetch (each upload keeps what it stored, unfinished, for the next start)."""
        if self._resuming is not None:
            self._resuming.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._resuming
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.aclose()

    async def _run(self, fetch: Fetch) -> None:
        try:
            async with asyncio.timeout(self.limits.total_timeout):
                await self._fetch(fetch)
            await self.service.record_source(fetch.upload_id, {"status": "completed"})
        except Stop:
            pass
        except Failed as failure:
            await self._fail(fetch.upload_id, failure.error)
        except TimeoutError:
            timeout = self.limits.total_timeout
            await self._fail(
                fetch.upload_id,
                TusError(504, "import_timeout", f"the import took longer than {timeout:g}s", {"timeout": timeout}),
            )
        except Exception as error:  # a bug: logged, and the upload says it failed rather than importing forever
            log.exception("import of %s into %s failed", fetch.checked.target.url, fetch.upload_id)
            crash = TusError(500, "import_failed", f"the import failed: {type(error).__name__}")
            await self._fail(fetch.upload_id, crash)
        finally:
            self.tasks.pop(fetch.upload_id, None)

    async def _fail(self, upload_id: str, error: TusError) -> None:
        log.info("import into %s failed: %s %s", upload_id, error.code, error.message)
        changes = {"status": "failed", "error_code": error.code, "error_message": error.message}
        with contextlib.suppress(TusError, OSError):
            await self.service.record_source(upload_id, changes, kind="source_failed")

    async def _fetch(self, fetch: Fetch) -> None:
        attempt = 1
        while True:
            try:
                await self._attempt(fetch)
                return
            except Retry as retry:
                if attempt > self.limits.retries:
                    raise Failed(retry.error) from None
                attempt += 1
                log.info("import into %s: %s; attempt %d", fetch.upload_id, retry.error.message, attempt)
                await self.service.record_source(fetch.upload_id, {"attempts": attempt, "last_error": retry.error.code})
                await asyncio.sleep(min(self.limits.backoff * 2 ** (attempt - 2), 10.0))

    async def _attempt(self, fetch: Fetch) -> None:
        info = await self._current(fetch.upload_id)
        if info.is_complete:
            return
        headers = {}
        if info.offset > 0 and fetch.validator is not None and fetch.validator.known:
            headers["Range"] = f"bytes={info.offset}-"
            headers["If-Range"] = fetch.validator.etag or fetch.validator.last_modified or ""
        try:
            response, hop = await self.client.open(fetch.checked, headers)
        except TusError as error:
            raise Failed(error) from None
        except httpx.TimeoutException:
            raise Retry(_timeout(self.policy.connect_timeout)) from None
        except httpx.HTTPError as error:
            raise Retry(_unreachable(error)) from None
        try:
            skip, total = self._placement(fetch, response, info)
            if not fetch.described:
                await self._describe(fetch, response, hop, total)
            body = SourceBody(response, skip)
            declared = total if info.is_deferred and total is not None else None
            info = await self._append(fetch, AppendRequest(offset=info.offset, declared_length=declared), body)
        finally:
            await response.aclose()
        if body.error is not None:
            if isinstance(body.error, httpx.TimeoutException):
                raise Retry(_timeout(self.policy.read_timeout))
            raise Retry(_unreachable(body.error))
        if info.is_deferred and body.ended:  # the source said no length: its end fixes it
            await self._append(fetch, AppendRequest(offset=info.offset, declared_length=info.offset), None)
        elif not info.is_complete:
            raise Retry(TusError(502, "import_source_ended_early", "the source ended before its declared length"))

    def _placement(self, fetch: Fetch, response: httpx.Response, info: UploadInfo) -> tuple[int, int | None]:
        """Bytes of the body to skip (already stored), and the source's whole length when it says."""
        status = response.status_code
        if status >= 500 or status in (408, 429):
            raise Retry(_source_status(status))
        if status not in (200, 206):
            raise Failed(_source_status(status))
        validator = Validator.of(response)
        if fetch.validator is not None and not fetch.validator.matches(validator):
            raise Failed(
                TusError(409, "import_source_changed", "the source changed while it was imported; import it again")
            )
        fetch.validator = validator
        if status == 206:
            match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
            if match is None or int(match[1]) != info.offset:
                raise Failed(TusError(502, "import_bad_range", "the source answered a range other than asked for"))
            total = None if match[3] == "*" else int(match[3])
            skip = 0
        else:
            length = response.headers.get("content-length", "")
            total = int(length) if length.isdigit() else None
            skip = info.offset  # a fresh fetch from the first byte: what is stored already is skipped
        if total is not None:
            self._check_length(total, info)
        return skip, total

    def _check_length(self, total: int, info: UploadInfo) -> None:
        max_size = self.limits.max_size
        if max_size is not None and total > max_size:
            raise Failed(
                TusError(
                    413,
                    "import_too_large",
                    f"the source is {total} bytes, more than the maximum of {max_size}",
                    {"length": total, "max_size": max_size},
                )
            )
        if info.size is not None and total != info.size:
            raise Failed(TusError(409, "import_source_changed", "the source's length changed; import it again"))

    async def _describe(self, fetch: Fetch, response: httpx.Response, hop: CheckedTarget, total: int | None) -> None:
        """Once: what the source says of itself (its final URL after redirects, its type and length)."""
        fetch.described = True
        changes: dict[str, Any] = {"length": total, "content_type": response.headers.get("content-type")}
        if fetch.validator is not None and fetch.validator.known:  # what a resumed fetch checks, after a restart
            changes.update(etag=fetch.validator.etag, last_modified=fetch.validator.last_modified)
        if hop.target.url != fetch.checked.target.url:
            changes["final_url"] = hop.target.url
        content_type = (response.headers.get("content-type") or "").strip()[:200]
        metadata = {"filetype": content_type} if content_type else None  # a download says what it is
        await self.service.record_source(fetch.upload_id, changes, metadata=metadata)

    async def _append(self, fetch: Fetch, request: AppendRequest, body: SourceBody | None) -> UploadInfo:
        """The PATCH path: lock, checks, storage, progress, completion and the pipeline."""
        try:
            return await self.service.append(fetch.upload_id, request, body.receive if body else no_body)
        except TusError as error:
            if error.code in GONE:
                raise Stop from None
            if error.code == "server_shutting_down":
                raise Stop from None
            if error.code == "client_disconnected" and body is not None and body.error is not None:
                if isinstance(body.error, httpx.TimeoutException):
                    raise Retry(_timeout(self.policy.read_timeout)) from None
                raise Retry(_unreachable(body.error)) from None
            if error.code == "body_exceeds_length":
                raise Failed(_too_large(self.limits.max_size)) from None
            if error.code in ("upload_interrupted", "upload_locked", "body_timeout", "lock_lost"):
                await self._current(fetch.upload_id)  # a DELETE interrupts: then it is gone, and that ends it
                raise Retry(error) from None
            raise Failed(error) from None

    async def _current(self, upload_id: str) -> UploadInfo:
        try:
            return await self.service.load(upload_id)
        except TusError as error:
            if error.code in GONE:
                raise Stop from None
            raise


def _name_in(path: str) -> str | None:
    last = unquote(urlsplit(path).path.rsplit("/", 1)[-1]).strip()
    return last[:255] or None


def _source_status(status: int) -> TusError:
    return TusError(502, "import_source_status", f"the source answered HTTP {status}", {"source_status": status})


def _timeout(seconds: float) -> TusError:
    return TusError(504, "import_timeout", f"the source did not answer within {seconds:g}s", {"timeout": seconds})


def _unreachable(error: httpx.HTTPError) -> TusError:
    return TusError(
        502, "import_connection_failed", f"the source could not be read: {type(error).__name__} {error}"[:300]
    )


def _too_large(max_size: int | None) -> TusError:
    return TusError(
        413, "import_too_large", f"the source sent more than the maximum of {max_size} bytes", {"max_size": max_size}
    )
