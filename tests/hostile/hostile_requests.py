"""Hostile requests: methods × paths × header sets × bodies, drawn by a seeded random generator or by Hypothesis."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar
from urllib.parse import quote

from hypothesis import strategies as st

from tests.hostile.asgi import Request
from tests.hostile.world import BATCHES, World, b64

T = TypeVar("T")

# Characters a real HTTP server lets through in a header value: printable latin-1 and tab.
HEADER_CHARS = "\t" + "".join(chr(c) for c in range(0x20, 0x7F)) + "".join(chr(c) for c in range(0xA0, 0x100))

METHODS = ["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS", "PUT", "TRACE", "PROPFIND", "get", "X" * 40]
PATHS = [
    "/files/",
    "/files",
    "/files/{id}",
    "/files/{id}/progress",
    "/files/{id}/events",
    "/files/events",
    "/files/batches/{batch}",
    "/files/batches/{batch}/events",
    "/files/{id}/{junk}",
    "/files/upload",
    "/healthz",
    "/readyz",
    "/metrics",
    "/",
    "/{junk}",
    "/files//{id}",
]
HOSTILE_IDS = [
    "..",
    "../..",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%2f..%2fsibling.txt",
    "..%5csibling.txt",
    "%2fetc%2fpasswd",
    "events",
    "batches",
    "upload",
    "{real}.info",
    ".{real}.staging",
    "{real}%00",
    "{real}%20",
    "{real}/",
    "a" * 128,
    "a" * 129,
    "b" * 5000,
    "%C3%A9t%C3%A9",
    "%F0%9F%98%80",
    "%ff%fe",
    "%",
    "%zz",
    "-leading-dash",
    "_",
    "0" * 32,
]
EDGE_NUMBERS = [
    "0",
    "1",
    "5",
    "10",
    "-1",
    "+5",
    " 5",
    "5 ",
    "1e3",
    "0x10",
    "5.0",
    "",
    " ",
    "abc",
    "٣",
    str(2**63 - 1),
    str(2**63),
    "9" * 19,
    "9" * 20,
    "9" * 5000,
    "00005",
]
TUS_HEADERS = [
    "tus-resumable",
    "upload-length",
    "upload-offset",
    "upload-metadata",
    "upload-defer-length",
    "upload-concat",
    "upload-checksum",
    "content-type",
    "range",
    "if-range",
    "if-none-match",
    "if-modified-since",
    "last-event-id",
    "x-http-method-override",
    "origin",
    "access-control-request-method",
    "access-control-request-headers",
    "forwarded",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-prefix",
    "x-request-id",
    "authorization",
    "cookie",
    "accept",
    "upload-complete",
    "upload-draft-interop-version",
    "transfer-encoding",
    "expect",
]
NUMERIC = {"upload-length", "upload-offset", "last-event-id"}
CREDENTIALS = ["alice", "bob", "root", None, "bad-key", "token:alice", "token:bob", "token:bad"]


class Chooser(Protocol):
    def choice(self, options: Sequence[T]) -> T: ...
    def integer(self, low: int, high: int) -> int: ...
    def chance(self, p: float) -> bool: ...
    def subset(self, options: Sequence[T], max_size: int) -> list[T]: ...
    def text(self, max_size: int) -> str: ...
    def data(self, max_size: int) -> bytes: ...


class RandomChooser:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def choice(self, options: Sequence[T]) -> T:
        return self.rng.choice(options)

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def subset(self, options: Sequence[T], max_size: int) -> list[T]:
        return self.rng.sample(list(options), self.rng.randint(0, max_size))

    def text(self, max_size: int) -> str:
        size = self.rng.choice([0, 1, self.rng.randint(0, 40), self.rng.randint(0, max_size)])
        return "".join(self.rng.choice(HEADER_CHARS) for _ in range(size))

    def data(self, max_size: int) -> bytes:
        return self.rng.randbytes(self.rng.randint(0, max_size))


class DataChooser:
    """The same choices drawn through Hypothesis, so failures shrink."""

    def __init__(self, data: st.DataObject) -> None:
        self.draw = data.draw

    def choice(self, options: Sequence[T]) -> T:
        return self.draw(st.sampled_from(options))

    def integer(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))

    def chance(self, p: float) -> bool:
        return self.draw(st.booleans()) if p >= 0.5 else self.draw(st.integers(0, int(1 / p) - 1)) == 0

    def subset(self, options: Sequence[T], max_size: int) -> list[T]:
        return self.draw(st.lists(st.sampled_from(options), max_size=max_size, unique=True))

    def text(self, max_size: int) -> str:
        return self.draw(st.text(alphabet=HEADER_CHARS, max_size=max_size))

    def data(self, max_size: int) -> bytes:
        return self.draw(st.binary(max_size=max_size))


@dataclass
class Drawn:
    """A request and what it was made of: who sends it and which upload it aims at."""

    request: Request
    user: str | None  # the identity whose credentials it carries (None: none, or bad ones)
    target: str | None  # the existing upload id in its path, if any


def draw_id(chooser: Chooser, world: World) -> str:
    real = world.ids[chooser.choice(world.upload_names)]
    kind = chooser.integer(0, 9)
    if kind < 6:
        return real
    if kind < 9:
        return chooser.choice(HOSTILE_IDS).replace("{real}", real)
    return quote(chooser.text(60), safe="")


def draw_value(chooser: Chooser, world: World, name: str) -> str:
    if name in NUMERIC and chooser.chance(0.7):
        return chooser.choice(EDGE_NUMBERS)
    if name == "upload-metadata" and chooser.chance(0.7):
        return draw_metadata(chooser)
    if name == "upload-concat" and chooser.chance(0.7):
        return draw_concat(chooser, world)
    if name == "content-type" and chooser.chance(0.7):
        return chooser.choice(["application/offset+octet-stream", "Application/Offset+Octet-Stream; x=1", "text/plain"])
    if name == "tus-resumable" and chooser.chance(0.7):
        return chooser.choice(["1.0.0", "0.2.2", "", "1.0.0, 1.0.0"])
    if name == "upload-checksum" and chooser.chance(0.5):
        return chooser.choice(["sha1", "md5", "sha256", "crc32", "none", ""]) + " " + chooser.text(40)
    if name == "range" and chooser.chance(0.6):
        return "bytes=" + ",".join(
            f"{chooser.choice(EDGE_NUMBERS)}-{chooser.choice(EDGE_NUMBERS)}" for _ in range(chooser.integer(1, 4))
        )
    if name == "x-http-method-override" and chooser.chance(0.7):
        return chooser.choice(["GET", "HEAD", "PATCH", "DELETE", "OPTIONS", "POST", "patch", "TRACE"])
    if chooser.chance(0.05):
        return "a" * chooser.choice([8 * 1024, 70 * 1024])
    return chooser.text(200)


def draw_metadata(chooser: Chooser) -> str:
    pairs = []
    for _ in range(chooser.integer(0, 6)):
        key = chooser.choice(["filename", "filetype", "batch", "batch_total", "name", "type", chooser.text(10)])
        value = chooser.choice(["../../etc/passwd", "text/html", "image/svg+xml", "a\r\nb", chooser.text(30)])
        pairs.append(chooser.choice([f"{key} {b64(value)}", key, f"{key} {value}", f"{key}  {b64(value)}"]))
    return chooser.choice([",", ", "]).join(pairs)


def draw_concat(chooser: Chooser, world: World) -> str:
    urls = []
    for _ in range(chooser.integer(0, 3)):
        upload_id = draw_id(chooser, world)
        urls.append(
            chooser.choice(
                [
                    f"/files/{upload_id}",
                    f"http://testserver/files/{upload_id}",
                    f"http://evil.example/files/{upload_id}",
                    f"/files/../{upload_id}",
                    upload_id,
                    "file:///etc/passwd",
                ]
            )
        )
    return chooser.choice(["partial", "final;" + " ".join(urls), "final;", "final; " + ",".join(urls), "other"])


def draw_request(chooser: Chooser, world: World) -> Drawn:
    """Half the time a well-formed tus request with a few hostile changes (to get deep into the app), else anything."""
    upload_id = draw_id(chooser, world)
    credential = chooser.choice(CREDENTIALS) if world.auth else None
    query = []
    if credential is not None and credential.startswith("token:"):
        user = credential.split(":")[1]
        query.append("token=" + {"alice": "alice-key", "bob": "bob-key"}.get(user, "guessed"))
    if chooser.chance(0.5):
        method, path, headers, body = _well_formed(chooser, world, upload_id)
    else:
        method = chooser.choice(METHODS)
        path = chooser.choice(PATHS).format(
            id=upload_id,
            batch=quote(chooser.choice([*BATCHES, chooser.text(30)]), safe=""),
            junk=quote(chooser.text(30), safe="/"),
        )
        headers = [(b"tus-resumable", b"1.0.0")] if chooser.chance(0.8) else []
        body = chooser.choice([b"", b"hello", b"x" * 11, chooser.data(64)])
    for name in chooser.subset(("since", "upload_id", "batch", "status", "limit", "offset"), 2):
        query.append(f"{name}={quote(chooser.choice([*EDGE_NUMBERS, upload_id, chooser.text(20)]), safe='')}")
    raw_path = (path + ("?" + "&".join(query) if query else "")).encode("ascii")
    if credential in ("alice", "bob", "root"):
        headers += world.credentials(credential)
    elif credential == "bad-key":
        headers.append((b"x-api-key", b"guessed-key"))
    for name in chooser.subset(TUS_HEADERS, 8 if chooser.chance(0.5) else 2):
        headers.append((name.encode(), draw_value(chooser, world, name).encode()))
        if chooser.chance(0.1):
            headers.append((name.encode(), draw_value(chooser, world, name).encode()))  # duplicated
    request = Request(method, raw_path, headers, body, chunked=chooser.chance(0.2))
    target = upload_id if upload_id in world.ever["alice"] | world.ever["bob"] and upload_id in path else None
    return Drawn(request, authenticated_user(request, credential), target)


def _well_formed(chooser: Chooser, world: World, upload_id: str) -> tuple[str, str, list[tuple[bytes, bytes]], bytes]:
    method = chooser.choice(["POST", "PATCH", "HEAD", "GET", "DELETE", "GET-progress", "GET-events"])
    headers = [(b"tus-resumable", b"1.0.0")]
    if method == "POST":
        lengths = [(b"upload-length", b"5"), (b"upload-length", b"0"), (b"upload-defer-length", b"1")]
        headers.append(chooser.choice(lengths))
        if chooser.chance(0.5):
            headers.append((b"upload-metadata", draw_metadata(chooser).encode()))
        if chooser.chance(0.3):
            headers += [(b"content-type", b"application/offset+octet-stream")]
        return "POST", "/files/", headers, chooser.choice([b"", b"hello", b"hello!"])
    if method == "PATCH":
        data, _ = world.state(upload_id) if upload_id in world.ids.values() else (None, None)
        offset = str(len(data)) if data is not None and chooser.chance(0.7) else chooser.choice(EDGE_NUMBERS)
        headers += [(b"content-type", b"application/offset+octet-stream"), (b"upload-offset", offset.encode())]
        return "PATCH", f"/files/{upload_id}", headers, chooser.choice([b"", b"a", b"abcde", b"x" * 11])
    if method.startswith("GET-"):
        return "GET", f"/files/{upload_id}/{method[4:]}", headers, b""
    return method, f"/files/{upload_id}", headers, b""


def authenticated_user(request: Request, credential: str | None) -> str | None:
    """Whom the server should take the request for: a valid key header, else a valid GET token."""
    if credential in ("alice", "bob", "root"):
        return credential
    if credential in ("token:alice", "token:bob") and effective_method(request) == "GET":
        return credential.split(":")[1]
    return None


def effective_method(request: Request) -> str:
    """The method after X-HTTP-Method-Override (its first occurrence), as the server sees it."""
    for name, value in request.headers:
        if name == b"x-http-method-override":
            method = value.strip().upper()
            if method in (b"PATCH", b"DELETE", b"HEAD", b"OPTIONS", b"GET", b"POST"):
                return method.decode()
            break
    return request.method
