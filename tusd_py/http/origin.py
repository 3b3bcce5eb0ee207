"""A request as hooks are told of it: method, URI, remote address and headers."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from tusd_py.hooks.models import RequestOrigin
from tusd_py.http.urls import full_path


def origin_of(request: HTTPConnection) -> RequestOrigin:
    """The request as hooks are told of it (tusd's HTTPRequest: method, URI, remote address, headers).
    A WebSocket's is the GET that opened it."""
    scope = request.scope
    query = scope.get("query_string", b"")
    uri = full_path(scope) + ("?" + query.decode("latin-1") if query else "")
    client = scope.get("client")
    return RequestOrigin(
        method=scope.get("method", "GET"),
        uri=uri,
        remote_addr=f"{client[0]}:{client[1]}" if client else "",
        headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]],
    )
