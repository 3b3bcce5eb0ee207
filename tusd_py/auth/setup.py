"""Choosing the authenticator from settings (or taking the one the embedding application passes)."""

from __future__ import annotations

from tusd_py.auth.api_keys import ApiKeyAuthenticator, load_keys
from tusd_py.auth.principal import Authenticator
from tusd_py.settings import Settings


def authenticator_from(settings: Settings) -> tuple[Authenticator, str] | None:
    """The authenticator and its WWW-Authenticate scheme; None for auth "none"."""
    if settings.auth == "api-key":
        return ApiKeyAuthenticator(load_keys(settings.api_keys_file, settings.api_keys)), "ApiKey"
    if settings.auth == "jwt":
        from tusd_py.auth.jwt import JWTAuthenticator  # PyJWT and cryptography load only for JWT auth

        public_key = settings.jwt_public_key.read_text() if settings.jwt_public_key else None
        return JWTAuthenticator(
            secret=settings.jwt_secret,
            public_key=public_key,
            audience=settings.jwt_audience,
            require_exp=settings.jwt_require_exp,
        ), "Bearer"
    return None
