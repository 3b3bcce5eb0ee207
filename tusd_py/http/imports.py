"""`POST B imports`: a URL fetched by the server into a new upload; answers 202 at once with where to follow it."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tusd_py.auth.principal import principal_of
from tusd_py.http.bodies import body_chunks
from tusd_py.http.origin import origin_of
from tusd_py.http.urls import PublicURLs
from tusd_py.imports.importer import Importer, ImportRequest
from tusd_py.protocol.errors import TusError

FIELDS = {"url", "filename", "metadata", "batch"}
MAX_BODY = 64 * 1024


class ImportRoutes:
    def __init__(self, importer: Importer | None, urls: PublicURLs, idle_timeout: float | None = None) -> None:
        self.importer = importer  # None: imports are turned off
        self.urls = urls
        self.idle_timeout = idle_timeout  # a request body that sends nothing this long is ended (--network-timeout)

    def routes(self) -> list[Route]:
        return [Route(self.urls.base_path + "imports", self.create, methods=["POST"])]

    async def create(self, request: Request) -> Response:
        if self.importer is None:
            raise TusError(404, "imports_disabled", "this server does not import URLs (--imports false)")
        import_request = parse_import(await _bounded_body(request, self.idle_timeout))
        info = await self.importer.start(import_request, principal_of(request), origin_of(request))
        url = self.urls.upload_url(request, info.id)
        return JSONResponse(
            {
                "id": info.id,
                "url": url,
                "progress_url": url + "/progress",
                "events_url": url + "/events",
                "source": (info.source or {}).get("url"),
                "status": "importing",
            },
            status_code=202,
            headers={"Location": url},
        )


async def _bounded_body(request: Request, idle_timeout: float | None) -> bytes:
    body = bytearray()
    async for chunk in body_chunks(request, idle_timeout):
        body += chunk
        if len(body) > MAX_BODY:
            raise TusError(413, "request_too_large", f"an import request is at most {MAX_BODY} bytes of JSON")
    return bytes(body)


def parse_import(body: bytes) -> ImportRequest:
    """The JSON body `{"url", "filename"?, "metadata"?, "batch"?}`; 400 with its own code for each problem."""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise TusError(400, "invalid_json", "the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise TusError(400, "invalid_json", "the body must be a JSON object")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise TusError(
            400,
            "unknown_field",
            f"unknown field {unknown[0]!r}; an import takes {', '.join(sorted(FIELDS))}",
            {"fields": unknown[:20]},
        )
    if "url" not in data:
        raise TusError(400, "missing_url", "give the URL to import in `url`")
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in metadata.items()
    ):
        raise TusError(400, "invalid_field", "metadata must be an object of strings", {"field": "metadata"})
    for name in ("filename", "batch", "url"):
        value = data.get(name)
        if value is not None and (not isinstance(value, str) or (name != "url" and not 0 < len(value) <= 255)):
            raise TusError(400, "invalid_field", f"{name} must be a string of 1 to 255 characters", {"field": name})
    if len(metadata) > 256 or any(len(key) + len(value) > 8192 for key, value in metadata.items()):
        raise TusError(400, "metadata_too_large", "metadata holds at most 256 pairs of at most 8KiB each")
    return ImportRequest(data["url"], data.get("filename"), dict(metadata), data.get("batch"))
