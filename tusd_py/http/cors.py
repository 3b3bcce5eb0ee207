"""CORS for browser clients (tus-js-client, Uppy): allowed origins from settings, tus headers exposed."""

from __future__ import annotations

import re

from starlette.datastructures import Headers as StarletteHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOW_METHODS = "POST, HEAD, PATCH, OPTIONS, GET, DELETE"
ALLOW_HEADERS = (
    "Authorization, Origin, X-Requested-With, X-Request-ID, X-HTTP-Method-Override, Content-Type, "
    "Upload-Length, Upload-Offset, Tus-Resumable, Upload-Metadata, Upload-Defer-Length, Upload-Concat, "
    "Upload-Checksum, Upload-Complete, Upload-Draft-Interop-Version, X-API-Key, Range, If-Range, "
    "If-None-Match, If-Modified-Since, Last-Event-ID, "
    "Upload-Incomplete, Content-Digest, Repr-Digest, Content-Disposition"  # the IETF draft's (interop 3 and on)
)
EXPOSE_HEADERS = (
    "Location, Upload-Offset, Upload-Length, Tus-Version, Tus-Resumable, Tus-Max-Size, Tus-Extension, "
    "Tus-Checksum-Algorithm, Upload-Metadata, Upload-Defer-Length, Upload-Concat, Upload-Expires, "
    "Upload-Complete, Upload-Limit, Upload-Draft-Interop-Version, X-Request-ID, Content-Range, "
    "Content-Disposition, ETag, Retry-After, "
    "Upload-Incomplete, Repr-Digest"  # the IETF draft's
)
_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")


class OriginPolicy:
    """`*` allows every origin; otherwise a comma-separated list where `*` matches within a host name."""

    def __init__(self, spec: str) -> None:
        entries = [entry.strip().rstrip("/") for entry in spec.split(",") if entry.strip()]
        self.any = "*" in entries
        self.enabled = bool(entries)
        patterns = [
            re.escape(entry).replace(r"\*", "[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*") for entry in entries if entry != "*"
        ]
        self._pattern = re.compile("|".join(patterns), re.IGNORECASE) if patterns else None

    def allows(self, origin: str) -> bool:
        if not self.enabled:
            return False
        if self.any:
            return True
        return self._pattern is not None and self._pattern.fullmatch(origin) is not None


class CORSMiddleware:
    """Answers preflights itself; on other requests from an allowed origin, echoes it and exposes tus headers.

    A disallowed origin gets no CORS headers at all, so the browser refuses the response.
    """

    def __init__(self, app: ASGIApp, origins: str, allow_credentials: bool) -> None:
        self.app = app
        self.policy = OriginPolicy(origins)
        self.allow_credentials = allow_credentials

    def _origin_headers(self, origin: str) -> list[tuple[bytes, bytes]]:
        headers = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
        if self.allow_credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_headers = StarletteHeaders(scope=scope)
        origin = request_headers.get("origin")
        if origin is None or not self.policy.allows(origin):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in request_headers:
            await self._preflight(origin, request_headers)(scope, receive, send)
            return
        added = [*self._origin_headers(origin), (b"access-control-expose-headers", EXPOSE_HEADERS.encode())]

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _preflight(self, origin: str, request_headers: StarletteHeaders) -> Response:
        requested = [h.strip() for h in request_headers.get("access-control-request-headers", "").split(",")]
        extra = [h for h in requested if h and _TOKEN.fullmatch(h) and h.lower() not in ALLOW_HEADERS.lower()]
        response = Response(status_code=200)
        response.raw_headers.extend(self._origin_headers(origin))
        response.raw_headers += [
            (b"access-control-allow-methods", ALLOW_METHODS.encode()),
            (b"access-control-allow-headers", ", ".join([ALLOW_HEADERS, *extra]).encode("latin-1")),
            (b"access-control-max-age", b"86400"),
        ]
        return response
