"""JWT bearer tokens (HS256 with a shared secret, or RS256 with a public key): `sub` is the owner."""

from __future__ import annotations

from typing import Any

import jwt
from starlette.requests import HTTPConnection

from tusd_py.auth.principal import Principal, credential, unauthenticated


class JWTAuthenticator:
    def __init__(
        self,
        *,
        secret: str | None = None,
        public_key: str | None = None,
        audience: str | None = None,
        require_exp: bool = True,
    ) -> None:
        if (secret is None) == (public_key is None):
            raise ValueError("auth jwt needs exactly one of --jwt-secret (HS256) and --jwt-public-key (RS256)")
        self.key = secret if secret is not None else public_key
        self.algorithms = ["HS256"] if secret is not None else ["RS256"]
        self.audience = audience
        self.required_claims = ["sub", "exp"] if require_exp else ["sub"]

    async def __call__(self, connection: HTTPConnection) -> Principal | None:
        token = credential(connection, "authorization", "Bearer ")
        if token is None:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.key,  # type: ignore[arg-type]
                algorithms=self.algorithms,
                audience=self.audience,
                options={"require": self.required_claims, "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise unauthenticated("the token has expired", 'Bearer error="invalid_token"') from None
        except jwt.InvalidTokenError as error:
            raise unauthenticated(f"invalid token: {error}", 'Bearer error="invalid_token"') from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise unauthenticated("the token's sub must name the owner", 'Bearer error="invalid_token"')
        roles = claims.get("roles") or []
        return Principal(subject, admin=isinstance(roles, list) and "admin" in roles)
