"""What every answer to a hostile request must respect; each check returns a problem, or None."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qsl

from tests.hostile.asgi import Reply, Request, call
from tests.hostile.hostile_requests import Drawn, effective_method
from tests.hostile.world import USERS, World

TRACEBACK_MARKERS = (b"Traceback (most recent call last)", b'File "/', b'.py", line ', b"site-packages")
PUBLIC_PATHS = {"/healthz", "/readyz", "/metrics"}
UploadState = tuple[bytes | None, bytes | None]


@dataclass
class Exchange:
    """One request, its answer, and the targeted upload's bytes on disk before and after."""

    drawn: Drawn
    reply: Reply
    before: UploadState | None = None
    after: UploadState | None = None

    def __str__(self) -> str:
        request = self.drawn.request
        headers = [(name.decode(), value[:80].decode("latin-1")) for name, value in request.headers]
        return (
            f"{request.method} {request.raw_path[:200]!r} headers={headers} body={request.body[:40]!r}"
            f" chunked={request.chunked} as={self.drawn.user} -> {self.reply.status} {self.reply.body[:300]!r}"
            + (f" raised {self.reply.raised}" if self.reply.raised else "")
        )


async def exchange(world: World, drawn: Drawn) -> Exchange:
    """Send the request, noting its target upload's bytes on disk before and after."""
    before = world.state(drawn.target) if drawn.target is not None else None
    reply = await call(world.app, drawn.request)
    after = world.state(drawn.target) if drawn.target is not None else None
    return Exchange(drawn, reply, before, after)


def server_error(exchange: Exchange) -> str | None:
    reply = exchange.reply
    return f"answered {reply.status} ({reply.raised or 'no exception'})" if reply.status >= 500 else None


def traceback(exchange: Exchange) -> str | None:
    text = exchange.reply.body + b"".join(value for _, value in exchange.reply.headers)
    found = [marker for marker in TRACEBACK_MARKERS if marker in text]
    return f"traceback text {found}" if found else None


def broken_error_contract(exchange: Exchange) -> str | None:
    """An error says Tus-Resumable and, when it has a body, is `{"error_code", "error_message", "details"}`."""
    reply = exchange.reply
    if not 400 <= reply.status < 500:
        return None  # a 5xx is a failure of its own (server_error)
    if reply.header("tus-resumable") != "1.0.0":
        return "an error without Tus-Resumable: 1.0.0"
    if effective_method(exchange.drawn.request) == "HEAD":
        return None
    try:
        body = json.loads(reply.body)
    except ValueError:
        return "an error body that is not JSON"
    if not isinstance(body, dict) or set(body) != {"error_code", "error_message", "details"}:
        return f"an error body of the wrong shape: {body!r:.200}"
    return None


def refusal_changed_upload(exchange: Exchange) -> str | None:
    """A 4xx on an existing upload leaves its data and .info byte-identical.

    The one 4xx that stores bytes says so: a body longer than the upload (sent without Content-Length) keeps the
    bytes up to the length and answers 413 body_exceeds_length with the new Upload-Offset."""
    if exchange.before is None or not 400 <= exchange.reply.status < 500 or exchange.after == exchange.before:
        return None
    data_before, data_after = exchange.before[0] or b"", (exchange.after or (None, None))[0] or b""
    offset = exchange.reply.header("upload-offset")
    if (
        _error_code(exchange.reply) == "body_exceeds_length"
        and offset is not None
        and data_after.startswith(data_before)
        and len(data_after) == int(offset)
    ):
        return None
    return f"a {exchange.reply.status} changed the upload: {exchange.before!r:.300} -> {exchange.after!r:.300}"


def answered_without_credentials(exchange: Exchange) -> str | None:
    """With auth on, a request without valid credentials gets 401, unless it is OPTIONS or a health route."""
    request = exchange.drawn.request
    if exchange.drawn.user is not None or effective_method(request) == "OPTIONS":
        return None
    if request.scope()["path"] in PUBLIC_PATHS:
        return None
    return None if exchange.reply.status == 401 else f"answered {exchange.reply.status} without credentials"


def reached_anothers_upload(world: World, exchange: Exchange) -> str | None:
    """With auth on, alice and bob never succeed on each other's upload, nor see anything of the other's."""
    user, request, reply = exchange.drawn.user, exchange.drawn.request, exchange.reply
    if user not in USERS:
        return None
    other = next(u for u in USERS if u != user)
    sent = request.raw_path + b"".join(value for _, value in request.headers) + request.body
    shown = reply.body + b"".join(value for _, value in reply.headers)
    for secret in [*world.ever[other], *world.secrets[other]]:
        if secret.encode() in shown and secret.encode() not in sent:
            return f"{user} was shown {other}'s {secret}"
    if not 200 <= reply.status < 300 or effective_method(request) == "OPTIONS":
        return None
    if exchange.drawn.target is not None and world.owner_of(exchange.drawn.target) == other:
        return f"{user} got {reply.status} on {other}'s upload"
    named = _named_ids(request)
    if any(world.owner_of(upload_id) == other for upload_id in named):
        return f"{user} got {reply.status} naming {other}'s upload"
    return None


def _named_ids(request: Request) -> set[str]:
    """Ids a request names outside its path: `upload_id` filters of the event streams, Upload-Concat URLs."""
    path, _, query = request.raw_path.partition(b"?")
    named = set()
    if path.rstrip(b"/").endswith(b"/events"):
        named |= {value for name, value in parse_qsl(query.decode("ascii")) if name == "upload_id"}
    for name, value in request.headers:
        if name == b"upload-concat" and effective_method(request) == "POST":
            named |= {part.rsplit("/", 1)[-1] for part in value.decode("latin-1").replace(";", " ").split()}
    return named


def _error_code(reply: Reply) -> str | None:
    try:
        body = json.loads(reply.body)
    except ValueError:
        return None
    return body.get("error_code") if isinstance(body, dict) else None
