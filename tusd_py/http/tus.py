"""The tus routes: OPTIONS, POST, HEAD, PATCH and DELETE, each a thin layer over protocol and service."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tusd_py.auth.principal import principal_of
from tusd_py.hooks.models import RequestOrigin
from tusd_py.http.download import download_response, presigned_redirect
from tusd_py.http.ietf import DraftRoutes
from tusd_py.http.origin import origin_of
from tusd_py.http.urls import PublicURLs
from tusd_py.protocol.concat import format_concat
from tusd_py.protocol.creation import parse_creation
from tusd_py.protocol.discovery import discovery_headers, require_tus_resumable
from tusd_py.protocol.errors import TusError, upload_not_found
from tusd_py.protocol.headers import Headers, http_date
from tusd_py.protocol.ids import is_valid_upload_id
from tusd_py.protocol.ietf.dialects import CURRENT_VERSION, DIALECTS, Dialect, dialect_of
from tusd_py.protocol.ietf.responses import limits
from tusd_py.protocol.info import UploadInfo
from tusd_py.protocol.metadata import format_metadata
from tusd_py.protocol.patch import has_offset_body, parse_append
from tusd_py.settings import Settings
from tusd_py.storage.base import ContentReader, Presigner
from tusd_py.uploads.service import UploadService
from tusd_py.uploads.socket_body import SocketBody, socket_body_of

UPLOAD_METHODS = ["GET", "HEAD", "PATCH", "DELETE", "OPTIONS"]


class TusRoutes:
    def __init__(self, service: UploadService, settings: Settings) -> None:
        self.service = service
        self.settings = settings
        self.base_path = settings.base_path
        self.urls = PublicURLs(settings.base_path, behind_proxy=settings.behind_proxy)
        self.discovery = discovery_headers(
            service.store.capabilities, max_size=settings.max_size, expiration=settings.expire_after is not None
        )
        # The IETF draft, on the same uploads: requests naming an interop version go to its routes.
        self.draft = DraftRoutes(service, settings, self.urls) if settings.ietf_draft else None
        if self.draft is not None:
            current = DIALECTS[CURRENT_VERSION]
            self.discovery.update(limits(current, max_size=settings.max_size, lifetime=settings.expire_after))

    def collection_paths(self) -> list[str]:
        base = self.base_path
        return [base] if base == "/" else [base, base.rstrip("/")]

    def routes(self) -> list[Route]:
        """Every tus method but GET: the app puts these before all its other routes, which take only GET and
        WebSockets, so a POST, HEAD or PATCH is matched at the first or second look instead of the twentieth."""
        collection = self.collection_paths()
        upload = self.base_path + "{upload_id}"
        return [
            *(Route(path, self.create, methods=["POST"]) for path in collection),
            Route(upload, self.head, methods=["HEAD"]),
            Route(upload, self.patch, methods=["PATCH"]),
            *(Route(path, self.options, methods=["OPTIONS"]) for path in collection),
            Route(upload, self.options, methods=["OPTIONS"]),
            Route(upload, self.delete, methods=["DELETE"]),
        ]

    def download_routes(self) -> list[Route]:
        """GET of an upload: last, so that `B events`, `B batches/…` and `B{id}/progress` keep their routes."""
        return [Route(self.base_path + "{upload_id}", self.download, methods=["GET"])]

    def unknown_upload_routes(self) -> list[Route]:
        """After every other route: any other path under the base (`…/abc/`, `…/..%2f`) names no upload, and
        says so as an unknown upload does, instead of Starlette's redirect to the path without its slash."""
        return [Route(self.base_path + "{path:path}", self.unknown_upload, methods=UPLOAD_METHODS)]

    async def unknown_upload(self, request: Request) -> Response:
        raise upload_not_found(request.path_params["path"])

    def _dialect(self, request: Request) -> Dialect | None:
        """The draft's interop version a request speaks; None for tus 1.0 (or when the draft is off)."""
        return None if self.draft is None else dialect_of(Headers(request.scope["headers"]))

    async def options(self, request: Request) -> Response:
        dialect = self._dialect(request)
        if self.draft is not None and dialect is not None:
            return await self.draft.options(request, dialect)
        return Response(status_code=200, headers=self.discovery)

    async def create(self, request: Request) -> Response:
        dialect = self._dialect(request)
        if self.draft is not None and dialect is not None:
            return await self.draft.create(request, dialect)
        headers = Headers(request.scope["headers"])
        require_tus_resumable(headers)
        creation = parse_creation(
            headers,
            max_size=self.settings.max_size,
            max_metadata_pairs=self.settings.max_metadata_pairs,
            max_metadata_size=self.settings.max_metadata_size,
        )
        partial_ids = None
        if creation.concat is not None and creation.concat.is_final:
            partial_ids = [self.urls.upload_id_from_url(request, url) for url in creation.concat.partial_urls]
        body = parse_append(headers, offset=0) if has_offset_body(headers) else None
        origin = origin_of(request)
        try:
            info = await self.service.create(
                creation,
                partial_ids=partial_ids,
                body=body,
                receive=request.receive,
                principal=principal_of(request),
                origin=origin,
                socket_body=self._socket_body(request),
            )
        except TusError as error:
            created = error.details.get("created_upload_id")
            if isinstance(created, str):  # the body failed after the upload was made: say where it is
                error.headers["Location"] = self.urls.upload_url(request, created)
            raise
        location = self.urls.upload_url(request, info.id)
        return hook_shaped(origin, 201, {**origin.response_headers, "Location": location, **self._state_headers(info)})

    async def head(self, request: Request) -> Response:
        dialect = self._dialect(request)
        if self.draft is not None and dialect is not None:
            return await self.draft.head(request, dialect, self._upload_id(request))
        headers = Headers(request.scope["headers"])
        require_tus_resumable(headers)
        info = await self.service.head(self._upload_id(request), principal_of(request))
        response_headers = {"Cache-Control": "no-store", **self._state_headers(info)}
        response_headers.update(self._description_headers(request, info))
        return Response(status_code=200, headers=response_headers)

    async def patch(self, request: Request) -> Response:
        dialect = self._dialect(request)
        if self.draft is not None and dialect is not None:
            return await self.draft.patch(request, dialect, self._upload_id(request))
        headers = Headers(request.scope["headers"])
        require_tus_resumable(headers)
        upload_id = self._upload_id(request)
        origin = origin_of(request)
        info = await self.service.append(
            upload_id,
            parse_append(headers),
            request.receive,
            principal_of(request),
            origin,
            socket_body=self._socket_body(request),
        )
        return hook_shaped(origin, 204, {**origin.response_headers, **self._state_headers(info)})

    async def delete(self, request: Request) -> Response:
        dialect = self._dialect(request)
        if self.draft is not None and dialect is not None:
            return await self.draft.delete(request, dialect, self._upload_id(request))
        headers = Headers(request.scope["headers"])
        require_tus_resumable(headers)
        origin = origin_of(request)
        await self.service.terminate(self._upload_id(request), principal_of(request), origin)
        return hook_shaped(origin, 204, origin.response_headers)

    async def download(self, request: Request) -> Response:
        info = await self.service.load(self._upload_id(request), principal_of(request))
        store = self.service.store
        if isinstance(store, Presigner) and store.presigns_downloads():
            return await presigned_redirect(info, store)
        assert isinstance(store, ContentReader)
        return download_response(request, info, store, sendfile=self.settings.sendfile)

    def _socket_body(self, request: Request) -> SocketBody | None:
        return socket_body_of(request.scope) if self.settings.socket_bodies else None

    def _upload_id(self, request: Request) -> str:
        upload_id: str = request.path_params["upload_id"]
        if not is_valid_upload_id(upload_id):
            raise upload_not_found(upload_id)
        return upload_id

    def _state_headers(self, info: UploadInfo) -> dict[str, str]:
        """Upload-Offset (unless a final upload still waits for its partials) and Upload-Expires."""
        headers = {}
        if not info.concat_pending:
            headers["Upload-Offset"] = str(info.offset)
        expires_at = info.expires_at(self.settings.expire_after)
        if expires_at is not None:
            headers["Upload-Expires"] = http_date(expires_at)
        return headers

    def _description_headers(self, request: Request, info: UploadInfo) -> dict[str, str]:
        headers = {}
        if info.size is None:
            headers["Upload-Defer-Length"] = "1"
        else:
            headers["Upload-Length"] = str(info.size)
        metadata = info.raw_metadata if info.raw_metadata is not None else format_metadata(info.metadata)
        if metadata:
            headers["Upload-Metadata"] = metadata
        if info.is_partial or info.is_final:
            partial_urls = [self.urls.upload_url(request, p) for p in info.partial_uploads or []]
            headers["Upload-Concat"] = format_concat(info.is_final, partial_urls)
        return headers


def hook_shaped(origin: RequestOrigin, status: int, headers: dict[str, str]) -> Response:
    """The answer, with the status and body a blocking hook gave instead of the server's own (as tusd does);
    the headers already carry the hook's, under the tus headers the server sets."""
    if origin.response_status is not None and origin.response_status >= 200:  # never a 1xx as a final answer
        status = origin.response_status
    body = origin.response_body if status >= 200 and status not in (204, 304) else None
    media_type = (origin.response_media_type or "text/plain; charset=utf-8") if body is not None else None
    return Response(content=body, status_code=status, headers=headers, media_type=media_type)

