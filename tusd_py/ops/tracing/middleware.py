"""One server span per HTTP request, named and described after OpenTelemetry's HTTP semantic conventions."""

from __future__ import annotations

from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import Getter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tusd_py.http.urls import full_path
from tusd_py.ops.metrics import ERROR_SCOPE_KEY

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"})
# What each request does to an upload, by method, on the tus routes (those with an upload id, and creation).
OPERATIONS = {"POST": "create", "PATCH": "append", "HEAD": "head", "GET": "download", "DELETE": "terminate"}


class _HeaderGetter(Getter[list[tuple[bytes, bytes]]]):
    """Reads `traceparent` and friends from ASGI's raw headers, so a client's trace goes on through the server."""

    def get(self, carrier: list[tuple[bytes, bytes]], key: str) -> list[str] | None:
        wanted = key.lower().encode("latin-1")
        values = [value.decode("latin-1") for name, value in carrier if name == wanted]
        return values or None

    def keys(self, carrier: list[tuple[bytes, bytes]]) -> list[str]:
        return [name.decode("latin-1") for name, _ in carrier]


HEADERS = _HeaderGetter()


class TracingMiddleware:
    def __init__(self, app: ASGIApp, tracer: trace.Tracer, base_path: str) -> None:
        self.app = app
        self.tracer = tracer
        self.base_path = base_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        span = self.tracer.start_span(
            span_method(scope), context=propagate.extract(scope["headers"], getter=HEADERS), kind=trace.SpanKind.SERVER
        )
        span.set_attributes(request_attributes(scope))
        response: dict[str, Any] = {}

        async def send_observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["headers"] = message.get("headers", [])
            await send(message)

        with trace.use_span(span, end_on_exit=True, record_exception=True, set_status_on_exception=True):
            try:
                await self.app(scope, receive, send_observed)
            except Exception as error:
                span.set_attribute("error.type", type(error).__qualname__)
                response.setdefault("status", 500)  # answered by Starlette's error middleware, outside this one
                raise
            finally:
                self._describe_outcome(span, scope, response)

    def _describe_outcome(self, span: trace.Span, scope: Scope, response: dict[str, Any]) -> None:
        route = route_of(scope)
        if route is not None:
            span.update_name(f"{span_method(scope)} {route}")
            span.set_attribute("http.route", route)
        upload_id = upload_id_of(scope, response.get("headers", []))
        operation = self._operation(scope, route)
        if operation is not None:
            span.set_attribute("tus.operation", operation)
        if upload_id:
            span.set_attribute("tus.upload.id", upload_id)
        error = scope.get(ERROR_SCOPE_KEY)
        if error is not None:
            span.set_attribute("tus.error_code", error[1])
        status = response.get("status")
        if status is None:
            return
        span.set_attribute("http.response.status_code", status)
        if status >= 500:  # a server span's 4xx is the client's error, not the server's
            span.set_attribute("error.type", str(status))
            span.set_status(trace.StatusCode.ERROR)

    def _operation(self, scope: Scope, route: str | None) -> str | None:
        """create, append, head, download or terminate, on the tus routes; None for the others."""
        if route is None:
            return None
        root = scope.get("root_path", "")
        local = route[len(root) :] if route.startswith(root) else route
        base = self.base_path
        on_tus_route = local == base + "{upload_id}" if scope["method"] != "POST" else local in (base, base.rstrip("/"))
        return OPERATIONS.get(scope["method"]) if on_tus_route else None


def span_method(scope: Scope) -> str:
    method: str = scope["method"]
    return method if method in KNOWN_METHODS else "HTTP"


def request_attributes(scope: Scope) -> dict[str, Any]:
    method = scope["method"]
    attributes: dict[str, Any] = {
        "http.request.method": method if method in KNOWN_METHODS else "_OTHER",
        "url.scheme": scope.get("scheme", "http"),
        "url.path": full_path(scope),
        "network.protocol.version": scope.get("http_version", "1.1"),
    }
    if method not in KNOWN_METHODS:
        attributes["http.request.method_original"] = method
    if scope.get("query_string"):
        attributes["url.query"] = scope["query_string"].decode("latin-1")
    client = scope.get("client")
    if client:
        attributes["client.address"], attributes["client.port"] = client[0], client[1]
    for name, value in scope["headers"]:
        if name == b"host":
            host, port = host_and_port(value.decode("latin-1"))
            attributes["server.address"] = host
            if port is not None:
                attributes["server.port"] = port
        elif name == b"user-agent":
            attributes["user_agent.original"] = value.decode("latin-1")
    return attributes


def host_and_port(host: str) -> tuple[str, int | None]:
    """`example.com:8080`, `[::1]:8080` or `example.com` as a name and a port (None when not given)."""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        name, colon, port = host.rpartition(":")
        if not colon:
            name, port = host, ""
    return name, int(port) if port.isdigit() else None


def route_of(scope: Scope) -> str | None:
    """The matched route's template (`/files/{upload_id}`): the path with each path parameter put back as its
    name. None when no route matched, so a stranger's paths never name spans."""
    if "endpoint" not in scope:
        return None
    route = full_path(scope)
    for name, value in scope.get("path_params", {}).items():
        if isinstance(value, str) and value:
            route = route.replace("/" + value, "/{" + name + "}", 1)
    return route


def upload_id_of(scope: Scope, response_headers: list[tuple[bytes, bytes]]) -> str | None:
    """The upload a request was about: from its path, or from the Location a creation answered with."""
    upload_id = scope.get("path_params", {}).get("upload_id")
    if isinstance(upload_id, str) and upload_id:
        return upload_id
    if scope["method"] == "POST":
        for name, value in response_headers:
            if name.lower() == b"location":
                return value.decode("latin-1").rstrip("/").rsplit("/", 1)[-1] or None
    return None
