"""A principal: the owner a request acts for, and whether it may see everyone's uploads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from tusd_py.protocol.errors import TusError

SCOPE_KEY = "tusd_py.principal"


@dataclass(frozen=True)
class Principal:
    owner: str
    admin: bool = False


# Returns the principal, or None when the request carries no credentials; raises TusError 401 for bad ones.
Authenticator = Callable[[HTTPConnection], Awaitable[Principal | None]]


def principal_of(connection: HTTPConnection) -> Principal | None:
    principal = connection.scope.get(SCOPE_KEY)
    return principal if isinstance(principal, Principal) else None


def credential(connection: HTTPConnection, header: str, prefix: str = "") -> str | None:
    """From the header, or from `?token=` on GETs and WebSockets, where browsers cannot set headers."""
    value = connection.headers.get(header)
    if value is not None:
        if prefix and not value.lower().startswith(prefix.lower()):
            return None
        return value[len(prefix) :].strip() or None
    if connection.scope["type"] == "websocket" or connection.scope.get("method") == "GET":
        return connection.query_params.get("token") or None
    return None


def unauthenticated(message: str, scheme: str) -> TusError:
    return TusError(401, "unauthenticated", message, headers={"WWW-Authenticate": scheme})


def forbidden(upload_id: str) -> TusError:
    return TusError(403, "forbidden", "this upload belongs to someone else", {"upload_id": upload_id})


def authorize(owner: str | None, principal: Principal | None, upload_id: str) -> None:
    """Only the owner (or an admin) may touch an upload; uploads made without auth are open to all."""
    if principal is None or principal.admin or owner is None or owner == principal.owner:
        return
    raise forbidden(upload_id)
