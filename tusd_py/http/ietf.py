"""The IETF draft's routes (Resumable Uploads for HTTP): creation, offset retrieval, append, cancellation and
OPTIONS in the dialect of the interop version each request names, over the same upload service as tus 1.0."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tusd_py.auth.principal import principal_of
from tusd_py.http.informational import encode_headers, informational_sender
from tusd_py.http.origin import origin_of
from tusd_py.http.urls import PublicURLs
from tusd_py.ops.metrics import ERROR_SCOPE_KEY
from tusd_py.protocol.errors import TusError
from tusd_py.protocol.headers import Headers
from tusd_py.protocol.ietf.dialects import Dialect
from tusd_py.protocol.ietf.requests import parse_draft_append, parse_draft_creation, refuse_upload_fields
from tusd_py.protocol.ietf.responses import error_fields, limits, problem, state_fields, version_field
from tusd_py.protocol.info import UploadInfo
from tusd_py.settings import Settings
from tusd_py.uploads.service import UploadService
from tusd_py.uploads.socket_body import SocketBody, socket_body_of

PROGRESS_INTERVAL = 0.5  # seconds between two 104 progress responses: at least one a second while bytes arrive


class DraftRoutes:
    """Handlers the tus routes hand a request to when it carries `Upload-Draft-Interop-Version`."""

    def __init__(self, service: UploadService, settings: Settings, urls: PublicURLs) -> None:
        self.service = service
        self.settings = settings
        self.urls = urls

    async def options(self, request: Request, dialect: Dialect) -> Response:
        lifetime = self.settings.expire_after
        headers = {**version_field(dialect), **self._limits(dialect, lifetime)}
        return Response(status_code=200, headers=headers)

    async def create(self, request: Request, dialect: Dialect) -> Response:
        try:
            headers = Headers(request.scope["headers"])
            creation, body = parse_draft_creation(
                headers,
                dialect,
                max_size=self.settings.max_size,
                max_metadata_pairs=self.settings.max_metadata_pairs,
            )
            location: list[str] = []
            progress = self._progress(request, dialect)

            def created(info: UploadInfo) -> None:
                location.append(self.urls.upload_url(request, info.id))
                announce = {"Location": location[0], **version_field(dialect), **self._limits_of(dialect, info)}
                self._interim(request, announce)

            origin = origin_of(request)
            try:
                info = await self.service.create(
                    creation,
                    body=body,
                    receive=request.receive,
                    principal=principal_of(request),
                    origin=origin,
                    socket_body=self._socket_body(request),
                    on_created=created,
                    on_stored=progress,
                )
            except TusError as error:
                created_id = error.details.get("created_upload_id")
                if isinstance(created_id, str):  # the body failed after the upload was made: say where it is
                    error.headers["Location"] = self.urls.upload_url(request, created_id)
                raise
        except TusError as error:
            return self._error(request, dialect, error)
        response_headers = {
            **origin.response_headers,
            "Location": location[0] if location else self.urls.upload_url(request, info.id),
            **state_fields(dialect, info),
            **self._limits_of(dialect, info),
        }
        return Response(status_code=201, headers=response_headers)

    async def head(self, request: Request, dialect: Dialect, upload_id: str) -> Response:
        try:
            refuse_upload_fields(Headers(request.scope["headers"]), dialect)
            info = await self.service.head(upload_id, principal_of(request))
        except TusError as error:
            return self._error(request, dialect, error)
        headers = {"Cache-Control": "no-store", **state_fields(dialect, info, retrieval=True)}
        headers.update(self._limits_of(dialect, info))
        return Response(status_code=204, headers=headers)

    async def patch(self, request: Request, dialect: Dialect, upload_id: str) -> Response:
        try:
            append = parse_draft_append(Headers(request.scope["headers"]), dialect)
            principal = principal_of(request)
            if dialect.completed_append_refused:
                current = await self.service.load(upload_id, principal)
                if current.is_complete:
                    raise TusError(
                        400,
                        "completed_upload",
                        "the upload is already complete and cannot be appended to",
                        {"offset": current.offset},
                        {"Upload-Offset": str(current.offset)},
                    )
            origin = origin_of(request)
            info = await self.service.append(
                upload_id,
                append,
                request.receive,
                principal,
                origin,
                on_stored=self._progress(request, dialect),
                socket_body=self._socket_body(request),
            )
        except TusError as error:
            return self._error(request, dialect, error)
        status = dialect.completing_status if info.is_complete else dialect.append_status
        headers = {**origin.response_headers, **state_fields(dialect, info), **self._limits_of(dialect, info)}
        return Response(status_code=status, headers=headers)

    async def delete(self, request: Request, dialect: Dialect, upload_id: str) -> Response:
        try:
            refuse_upload_fields(Headers(request.scope["headers"]), dialect)
            origin = origin_of(request)
            await self.service.terminate(upload_id, principal_of(request), origin)
        except TusError as error:
            return self._error(request, dialect, error)
        return Response(status_code=204, headers={**origin.response_headers, **version_field(dialect)})

    # -- helpers -----------------------------------------------------------------------------------

    def _limits(self, dialect: Dialect, lifetime: float | None) -> dict[str, str]:
        return limits(dialect, max_size=self.settings.max_size, lifetime=lifetime)

    def _limits_of(self, dialect: Dialect, info: UploadInfo) -> dict[str, str]:
        """The limits of one upload: its lifetime is what is left of it until it expires."""
        expires_at = info.expires_at(self.settings.expire_after)
        return self._limits(dialect, None if expires_at is None else expires_at - time.time())

    def _interim(self, request: Request, headers: dict[str, str]) -> None:
        send = informational_sender(request.scope)
        if send is not None:
            send(104, encode_headers(headers))

    def _progress(self, request: Request, dialect: Dialect) -> _Progress | None:
        """104 progress responses with Upload-Offset (interop 5 and later), when the server can send them."""
        send = informational_sender(request.scope)
        if not dialect.progress_104 or send is None:
            return None
        version = version_field(dialect)
        return _Progress(lambda offset: send(104, encode_headers({"Upload-Offset": str(offset), **version})))

    def _socket_body(self, request: Request) -> SocketBody | None:
        return socket_body_of(request.scope) if self.settings.socket_bodies else None

    def _error(self, request: Request, dialect: Dialect, error: TusError) -> Response:
        request.scope[ERROR_SCOPE_KEY] = (error.status, error.code)
        headers = {**error.headers, **error_fields(dialect, error)}
        if error.status == 413:
            headers.update(self._limits(dialect, self.settings.expire_after))
        body, media_type = problem(dialect, error)
        if request.method == "HEAD":
            return Response(status_code=error.status, headers={**headers, "Content-Type": media_type})
        return JSONResponse(body, status_code=error.status, headers=headers, media_type=media_type)


class _Progress:
    """Called each time more of a body reached storage; sends a 104 at most every PROGRESS_INTERVAL."""

    def __init__(self, send: Callable[[int], object]) -> None:
        self._send = send
        self._last = 0.0

    def __call__(self, offset: int) -> None:
        now = time.monotonic()
        if now - self._last >= PROGRESS_INTERVAL:
            self._last = now
            self._send(offset)
