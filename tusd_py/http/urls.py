"""URLs the server hands out (Location) and reads back (Upload-Concat): right under any mount and behind a proxy."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from starlette.datastructures import URL
from starlette.requests import HTTPConnection
from starlette.types import Scope

from tusd_py.http.forwarded import forwarded_origin
from tusd_py.protocol.concat import HEADER as CONCAT_HEADER
from tusd_py.protocol.errors import TusError
from tusd_py.protocol.headers import Headers
from tusd_py.protocol.ids import is_valid_upload_id


def full_path(scope: Scope) -> str:
    """The request's path, mount path included."""
    root: str = scope.get("root_path", "")
    path: str = scope["path"]
    return path if path.startswith(root) else root + path  # ASGI paths include the mount path; be sure of it


class PublicURLs:
    def __init__(self, base_path: str, *, behind_proxy: bool) -> None:
        self.base_path = base_path
        self.behind_proxy = behind_proxy

    def origin_and_prefix(self, connection: HTTPConnection) -> tuple[str, str]:
        """`scheme://host` and the path prefix the client used, mount path included."""
        scheme, netloc = _scheme_and_netloc(connection.scope)
        scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
        prefix = connection.scope.get("root_path", "").rstrip("/")
        if self.behind_proxy:
            forwarded = forwarded_origin(Headers(connection.scope["headers"]))
            scheme = forwarded.scheme or scheme
            netloc = forwarded.host or netloc
            prefix = forwarded.prefix + prefix
        return f"{scheme}://{netloc}", prefix

    def collection_url(self, connection: HTTPConnection) -> str:
        origin, prefix = self.origin_and_prefix(connection)
        return origin + prefix + self.base_path

    def upload_url(self, connection: HTTPConnection, upload_id: str) -> str:
        return self.collection_url(connection) + upload_id

    def upload_id_from_url(self, connection: HTTPConnection, url: str) -> str:
        """The id of one of this server's uploads named by an absolute or relative URL; 400 otherwise."""
        try:
            parts = urlsplit(url)
        except ValueError:
            raise _foreign(url) from None
        origin, prefix = self.origin_and_prefix(connection)
        collections = [prefix + self.base_path]
        if parts.scheme or parts.netloc:
            if f"{parts.scheme}://{parts.netloc}".lower() != origin.lower():
                raise _foreign(url)
        else:
            # A relative path may also be the one the server itself sees behind the proxy.
            collections.append(connection.scope.get("root_path", "").rstrip("/") + self.base_path)
        collection = next((c for c in collections if parts.path.startswith(c)), None)
        if collection is None:
            raise _foreign(url)
        upload_id = parts.path[len(collection) :]
        if not is_valid_upload_id(upload_id) or parts.query or parts.fragment:
            raise _foreign(url)
        return upload_id


def _scheme_and_netloc(scope: Scope) -> tuple[str, str]:
    """Scheme and host as Starlette's `connection.url` tells them (the Host header when valid, else the server's
    address). Building that whole URL cost more than the rest of a creation's URL work, and a server sees few
    distinct hosts, so the answer is remembered per scheme, Host header and address."""
    host = next((value for name, value in scope["headers"] if name == b"host"), None)
    server = scope.get("server")
    return _url_origin(scope.get("scheme", "http"), host, tuple(server) if server is not None else None)


@functools.lru_cache(maxsize=256)
def _url_origin(scheme: str, host: bytes | None, server: tuple[str, int] | None) -> tuple[str, str]:
    headers = [(b"host", host)] if host is not None else []
    url = URL(scope={"type": "http", "scheme": scheme, "path": "/", "headers": headers, "server": server})
    return url.scheme, url.netloc


def _foreign(url: str) -> TusError:
    return TusError(
        400,
        "invalid_concat_url",
        f"{CONCAT_HEADER} names {url[:200]!r}, which is not an upload of this server",
        {"url": url[:200]},
    )
