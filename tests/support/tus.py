"""Small synchronous tus helpers over httpx for tests against a live server."""

from __future__ import annotations

import hashlib
import random

import httpx

TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_BODY = {**TUS, "Content-Type": "application/offset+octet-stream"}


def payload(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def create(endpoint: str, length: int | None, **headers: str) -> str:
    sized = {"Upload-Length": str(length)} if length is not None else {"Upload-Defer-Length": "1"}
    response = httpx.post(endpoint, headers={**TUS, **sized, **headers})
    assert response.status_code == 201, response.text
    return response.headers["location"]


def offset_of(url: str) -> int:
    response = httpx.head(url, headers=TUS)
    assert response.status_code == 200, response.status_code
    return int(response.headers["upload-offset"])


def patch(url: str, offset: int, body: bytes, **headers: str) -> httpx.Response:
    return httpx.patch(url, content=body, headers={**OFFSET_BODY, "Upload-Offset": str(offset), **headers})


def upload_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]
