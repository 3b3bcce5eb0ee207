"""A populated in-process app for the hostile-input tests: uploads of every kind, owned by alice and bob."""

from __future__ import annotations

import base64
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette

from tests.hostile.asgi import Request, call
from tests.hostile.conftest import API_KEYS, KEYS
from tusd_py import Settings, create_app

USERS = ("alice", "bob")
KINDS = ("empty", "half", "done", "deferred", "partial", "final")
BATCHES = tuple(f"{user}-batch" for user in USERS)
TUS = [(b"tus-resumable", b"1.0.0")]
OFFSET_BODY = [(b"content-type", b"application/offset+octet-stream")]
# What may lie in the upload directory: data, .info, staging files and tombstones of server-made ids.
UPLOAD_DIR_ENTRY = re.compile(r"[0-9a-f]{32}(\.info)?|\.[0-9a-f]{32}\.(staging|gone|assembling|info\.tmp)")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass
class World:
    app: Starlette
    root: Path  # the upload directory's parent: nothing may be written here but inside the upload directory
    upload_dir: Path
    auth: bool
    ids: dict[str, str] = field(default_factory=dict)  # "alice-done" -> that upload's current id
    ever: dict[str, set[str]] = field(default_factory=lambda: {user: set() for user in USERS})
    secrets: dict[str, list[str]] = field(default_factory=dict)  # per user: what only its answers may show

    @classmethod
    async def build(cls, root: Path, *, auth: bool) -> World:
        upload_dir = root / "uploads"
        root.mkdir(parents=True, exist_ok=True)
        (root / "sibling.txt").write_text("a file beside the upload directory")
        settings = Settings(
            upload_dir=upload_dir,
            auth="api-key" if auth else "none",
            api_keys=API_KEYS,
            auth_failure_limit=0,  # the fuzz refuses thousands of guesses from one address on purpose
        )
        world = cls(create_app(settings), root, upload_dir, auth)
        for user in USERS:
            name = f"{user}-secret-{secrets.token_hex(6)}"
            world.secrets[user] = [name, b64(name)]
        await world.ensure()
        return world

    def credentials(self, user: str | None) -> list[tuple[bytes, bytes]]:
        return [(b"x-api-key", KEYS[user].encode())] if self.auth and user is not None else []

    @property
    def upload_names(self) -> list[str]:
        return [f"{user}-{kind}" for user in USERS for kind in KINDS]

    def owner_of(self, upload_id: str) -> str | None:
        return next((user for user, ids in self.ever.items() if upload_id in ids), None)

    # -- keeping every kind of upload there ----------------------------------------------------------------

    async def ensure(self) -> None:
        """Make again any upload a request removed (or made unusable), so every kind stays reachable."""
        for name in self.upload_names:
            upload_id = self.ids.get(name)
            if upload_id is None or not (self.upload_dir / upload_id).exists():
                await self._make(name)

    async def _make(self, name: str) -> None:
        user, kind = name.split("-")
        headers = TUS + self.credentials(user)
        metadata = f"filename {b64(self.secrets[user][0])},filetype {b64('text/html')},batch {b64(user + '-batch')}"
        creation = {
            "empty": [(b"upload-length", b"10")],
            "half": [(b"upload-length", b"10")],
            "done": [(b"upload-length", b"5"), (b"upload-metadata", metadata.encode())],
            "deferred": [(b"upload-defer-length", b"1")],
            "partial": [(b"upload-length", b"3"), (b"upload-concat", b"partial")],
        }
        if kind == "final":
            if not (self.upload_dir / self.ids.get(f"{user}-partial", "-")).exists():
                await self._make(f"{user}-partial")
            partial = self.ids[f"{user}-partial"]
            creation["final"] = [(b"upload-concat", f"final;/files/{partial}".encode())]
        reply = await call(self.app, Request("POST", b"/files/", headers + creation[kind]))
        assert reply.status == 201, (name, reply.status, reply.body)
        upload_id = (reply.header("location") or "").rsplit("/", 1)[1]
        self.ids[name] = upload_id
        self.ever[user].add(upload_id)
        data = {"half": b"12345", "done": b"hello", "deferred": b"abc", "partial": b"xyz"}.get(kind)
        if data is not None:
            patch = Request(
                "PATCH", f"/files/{upload_id}".encode(), headers + OFFSET_BODY + [(b"upload-offset", b"0")], data
            )
            reply = await call(self.app, patch)
            assert reply.status == 204, (name, reply.status, reply.body)

    # -- what is on disk ------------------------------------------------------------------------------------

    def state(self, upload_id: str) -> tuple[bytes | None, bytes | None]:
        """An upload's data and .info, byte for byte (None where missing)."""
        data, info = self.upload_dir / upload_id, self.upload_dir / (upload_id + ".info")
        return (data.read_bytes() if data.exists() else None, info.read_bytes() if info.exists() else None)

    def outside(self) -> dict[str, bytes | None]:
        """Every entry under the parent directory but outside the upload directory (files with their bytes)."""
        entries: dict[str, bytes | None] = {}
        for directory, subdirectories, files in os.walk(self.root):
            here = Path(directory)
            subdirectories[:] = [d for d in subdirectories if here / d != self.upload_dir]
            for name in subdirectories:
                entries[str((here / name).relative_to(self.root))] = None
            for name in files:
                entries[str((here / name).relative_to(self.root))] = (here / name).read_bytes()
        return entries

    def strays(self) -> list[str]:
        """Entries of the upload directory that are not named like a server-made upload."""
        return sorted(p.name for p in self.upload_dir.iterdir() if not UPLOAD_DIR_ENTRY.fullmatch(p.name))

    async def close(self) -> None:
        await self.app.state.background.stop()
