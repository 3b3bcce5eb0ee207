"""The tus app, and its authenticator: the Django user signed in by Django's session cookie owns the upload."""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import aget_user
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from tusd_py import Settings, create_app
from tusd_py.auth import Principal

PREFIX = "/uploads"


async def django_user(connection: HTTPConnection) -> Principal | None:
    """The same session lookup as Django's SessionMiddleware and AuthenticationMiddleware, on tusd_py's requests.

    No session cookie, an expired session or a signed-out user: None, and tusd_py answers 401."""
    session_key = connection.cookies.get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return None
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = await aget_user(SimpleNamespace(session=session))
    if not user.is_authenticated or not user.is_active:
        return None
    return Principal(user.get_username(), admin=user.is_superuser)


def tus_app() -> Starlette:
    # Settings.from_env(): TUSD_PY_UPLOAD_DIR and the other TUSD_PY_* variables configure the uploads.
    return create_app(Settings.from_env(), authenticator=django_user)
