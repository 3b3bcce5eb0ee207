"""Pure ASGI middleware: method override before routing, and the headers every response carries."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tusd_py.protocol.constants import TUS_VERSION

_VERSION = TUS_VERSION.encode()
_OVERRIDABLE = {b"PATCH", b"DELETE", b"HEAD", b"OPTIONS", b"GET", b"POST"}


class MethodOverrideMiddleware:
    """`X-HTTP-Method-Override` replaces the method, for clients and proxies that only speak GET and POST."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"x-http-method-override":
                    method = value.strip().upper()
                    if method in _OVERRIDABLE:
                        scope = {**scope, "method": method.decode("ascii")}
                    break
        await self.app(scope, receive, send)


class ProtocolHeadersMiddleware:
    """Every HTTP response says which tus version the server speaks, and forbids content sniffing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"tus-resumable" for name, _ in headers):
                    headers.append((b"tus-resumable", _VERSION))
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_version)
