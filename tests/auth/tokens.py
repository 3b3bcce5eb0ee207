"""JWTs for the tests: HS256 with a secret, RS256 with a key pair made here, and forged ones."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SECRET = "a-shared-secret-of-at-least-thirty-two-bytes"


def claims(sub: str | None, *, expires_in: float = 600, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    payload: dict[str, Any] = {"iat": now, "exp": now + int(expires_in), **extra}
    if sub is not None:
        payload["sub"] = sub
    return payload


def hs256(sub: str | None, *, secret: str = SECRET, **options: Any) -> str:
    return jwt.encode(claims(sub, **options), secret, algorithm="HS256")


class RsaKeys:
    """A fresh RSA key pair; the public half written as the PEM file --jwt-public-key names."""

    def __init__(self) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def write_public(self, path: Path) -> Path:
        path.write_bytes(self.public_pem)
        return path

    def rs256(self, sub: str | None, **options: Any) -> str:
        return jwt.encode(claims(sub, **options), self.private, algorithm="RS256")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(sub: str) -> str:
    """`alg: none`: a token anyone can write."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims(sub)).encode())}."


def hs256_signed_with(key: bytes, sub: str) -> str:
    """HS256 with the RS256 public key as the HMAC secret: the algorithm-confusion forgery."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims(sub)).encode())
    signature = hmac.new(key, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
