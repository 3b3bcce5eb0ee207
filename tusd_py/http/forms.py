"""`POST B form`: a multipart/form-data body, each file an upload streamed to the store as it arrives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlencode, urlsplit

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tusd_py.auth.principal import principal_of
from tusd_py.forms.parts import PartReader, boundary_of
from tusd_py.forms.session import FormLimits, FormSession, ReceivedFile
from tusd_py.http.origin import origin_of
from tusd_py.http.urls import PublicURLs
from tusd_py.protocol.errors import TusError
from tusd_py.uploads.service import UploadService


class FormRoutes:
    def __init__(self, service: UploadService, urls: PublicURLs, limits: FormLimits) -> None:
        self.service = service
        self.urls = urls
        self.limits = limits
        self._stopping = False
        self._waiting: set[asyncio.Timeout] = set()  # the deadlines of the bodies waiting for their next bytes

    def interrupt(self) -> None:
        """Shutdown: forms waiting for their next bytes end now (503, the file being received marked failed);
        files being written are ended by the service, the same way."""
        self._stopping = True
        for deadline in list(self._waiting):
            deadline.reschedule(asyncio.get_running_loop().time())

    def routes(self) -> list[Route]:
        return [Route(self.urls.base_path + "form", self.create, methods=["POST"])]

    async def create(self, request: Request) -> Response:
        reader = PartReader(boundary_of(request.headers.get("content-type")))
        session = FormSession(self.service, self.limits, principal_of(request), origin_of(request))
        try:
            async for chunk in self._chunks(request):
                for event in reader.feed(chunk):
                    await session.handle(event)
            if not reader.ended:
                raise TusError(400, "invalid_multipart", "the body ended before its closing boundary")
        except ClientDisconnect:
            await session.abort("form_request_ended", "the request ended before the file did")
            return Response(status_code=400)  # nobody is left to read it
        except TusError as error:
            await session.abort(error.code, error.message)
            raise self._explained(error, session) from None
        except BaseException:
            await session.abort("form_failed", "the form could not be received")
            raise
        if not session.files:
            raise TusError(400, "no_files", "the form holds no file (a file input left empty is skipped)")
        if session.redirect is not None:
            return RedirectResponse(self._redirect_target(request, session), status_code=303)
        return JSONResponse({"uploads": [self._described(request, f) for f in session.files]}, status_code=201)

    def _described(self, request: Request, file: ReceivedFile) -> dict[str, object]:
        return {
            "id": file.id,
            "url": self.urls.upload_url(request, file.id),
            "name": file.name,
            "type": file.type,
            "size": file.size,
            "sha256": file.sha256,
            "field": file.field,
        }

    def _explained(self, error: TusError, session: FormSession) -> TusError:
        """The append path's words for a PATCH, said for a form; with the uploads finished before it."""
        finished = {"uploads": [file.id for file in session.files]}
        if error.code == "body_exceeds_length":
            return TusError(
                413,
                "file_too_large",
                f"a file is larger than the maximum of {self.limits.max_size} bytes",
                {**finished, "max_size": self.limits.max_size},
            )
        error.details = {**error.details, **finished}
        error.headers.pop("Upload-Offset", None)
        return error

    def _redirect_target(self, request: Request, session: FormSession) -> str:
        """Only to this server's own origin (or a path on it): a form must not make an open redirect."""
        target = session.redirect or ""
        parts = urlsplit(target)
        origin, _ = self.urls.origin_and_prefix(request)
        same_origin = f"{parts.scheme}://{parts.netloc}".lower() == origin.lower()
        relative = not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//")
        if not (same_origin or relative) or "\\" in target:
            raise TusError(
                400,
                "invalid_redirect",
                "redirect must be a path or a URL on this server",
                {"redirect": target[:200], "uploads": [file.id for file in session.files]},
            )
        query = urlencode([("upload", file.id) for file in session.files])
        return target + ("&" if parts.query else "?") + query if query else target

    async def _chunks(self, request: Request) -> AsyncIterator[bytes]:
        """The request body, ended with 408 when the client sends nothing for the idle timeout, and with 503 when
        the server stops."""
        stream = request.stream()
        idle_timeout = self.limits.idle_timeout
        while True:
            if self._stopping:
                raise _shutting_down()
            try:
                async with asyncio.timeout(idle_timeout) as deadline:
                    self._waiting.add(deadline)
                    try:
                        chunk = await anext(stream)
                    finally:
                        self._waiting.discard(deadline)
            except StopAsyncIteration:
                return
            except TimeoutError:
                if self._stopping:
                    raise _shutting_down() from None
                raise TusError(408, "body_timeout", f"no bytes arrived for {idle_timeout:g}s") from None
            yield chunk


def _shutting_down() -> TusError:
    return TusError(
        503, "server_shutting_down", "the server is stopping; send the form again shortly", headers={"Retry-After": "5"}
    )
