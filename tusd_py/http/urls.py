"""URLs the server hands out (Location) and reads back (Upload-Concat), correct under any mount path."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request

from tusd_py.protocol.concat import HEADER as CONCAT_HEADER
from tusd_py.protocol.errors import TusError
from tusd_py.protocol.ids import is_valid_upload_id


def origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def collection_path(request: Request, base_path: str) -> str:
    """The base path as the client sees it: the mount prefix (root_path) included."""
    return request.scope.get("root_path", "").rstrip("/") + base_path


def upload_url(request: Request, base_path: str, upload_id: str) -> str:
    return origin(request) + collection_path(request, base_path) + upload_id


def upload_id_from_url(request: Request, base_path: str, url: str) -> str:
    """The id of one of this server's uploads named by an absolute or relative URL; 400 otherwise."""
    parts = urlsplit(url)
    if parts.scheme and parts.netloc and f"{parts.scheme}://{parts.netloc}".lower() != origin(request).lower():
        raise _foreign(url)
    prefix = collection_path(request, base_path)
    if not parts.path.startswith(prefix):
        raise _foreign(url)
    upload_id = parts.path[len(prefix) :]
    if not is_valid_upload_id(upload_id) or parts.query or parts.fragment:
        raise _foreign(url)
    return upload_id


def _foreign(url: str) -> TusError:
    return TusError(
        400,
        "invalid_concat_url",
        f"{CONCAT_HEADER} names {url[:200]!r}, which is not an upload of this server",
        {"url": url[:200]},
    )
