"""The mount adapters hand tusd_py the scope a Starlette mount would: the whole path, the prefix in root_path."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from tusd_py.http.mount import PrefixDispatch, RestoredPrefix


class Recorder:
    def __init__(self) -> None:
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)


async def nothing() -> Any:
    return {}


async def ignore(message: Any) -> None:
    return None


def http(path: str, **extra: Any) -> Scope:
    return {"type": "http", "path": path, "root_path": "", **extra}


async def dispatched(path: str, **extra: Any) -> tuple[list[Scope], list[Scope]]:
    tus, other = Recorder(), Recorder()
    await PrefixDispatch("/uploads/", tus, other)(http(path, **extra), nothing, ignore)
    return tus.scopes, other.scopes


@pytest.mark.parametrize("path", ["/uploads", "/uploads/files/", "/uploads/files/abc/events"])
async def test_paths_under_the_prefix_go_to_tusd_py_with_the_prefix_as_root_path(path: str) -> None:
    tus, other = await dispatched(path)

    assert other == []
    assert (tus[0]["path"], tus[0]["root_path"]) == (path, "/uploads")


@pytest.mark.parametrize("path", ["/", "/uploadsx/files/", "/admin/uploads/", "/upload"])
async def test_other_paths_go_to_the_host_untouched(path: str) -> None:
    tus, other = await dispatched(path)

    assert tus == []
    assert other == [http(path)]


async def test_the_prefix_is_added_to_the_hosts_own_root_path() -> None:
    tus, _ = await dispatched("/app/uploads/files/", root_path="/app")

    assert (tus[0]["path"], tus[0]["root_path"]) == ("/app/uploads/files/", "/app/uploads")


async def test_lifespan_goes_to_tusd_py_only() -> None:
    tus, other = Recorder(), Recorder()

    await PrefixDispatch("/uploads", tus, other)({"type": "lifespan"}, nothing, ignore)

    assert [scope["type"] for scope in tus.scopes] == ["lifespan"]
    assert other.scopes == []


@pytest.mark.parametrize("prefix", ["", "/", "uploads"])
def test_a_prefix_must_name_a_path(prefix: str) -> None:
    with pytest.raises(ValueError, match="mount prefix"):
        PrefixDispatch(prefix, Recorder(), Recorder())
    with pytest.raises(ValueError, match="mount prefix"):
        RestoredPrefix(prefix, Recorder())


async def restored(scope: Scope) -> Scope:
    tus = Recorder()
    await RestoredPrefix("/uploads", tus)(scope, nothing, ignore)
    return tus.scopes[0]


async def test_a_cut_off_prefix_is_put_back_from_the_path_the_client_sent() -> None:
    # What Litestar passes a mount: the rest of the path, with a slash appended; raw_path as received.
    scope = await restored(http("/files/abc/", raw_path=b"/uploads/files/abc"))

    assert (scope["path"], scope["root_path"]) == ("/uploads/files/abc", "/uploads")


async def test_percent_escapes_of_the_sent_path_are_decoded_as_asgi_paths_are() -> None:
    scope = await restored(http("/files/a b/", raw_path=b"/uploads/files/a%20b"))

    assert scope["path"] == "/uploads/files/a b"


async def test_without_raw_path_the_prefix_goes_before_what_the_host_passed() -> None:
    scope = await restored(http("/files/abc"))

    assert (scope["path"], scope["root_path"]) == ("/uploads/files/abc", "/uploads")


async def test_a_raw_path_outside_the_mount_is_not_trusted() -> None:
    scope = await restored(http("/files/abc", raw_path=b"/elsewhere/files/abc"))

    assert scope["path"] == "/uploads/files/abc"


async def test_lifespan_passes_through_unchanged() -> None:
    assert await restored({"type": "lifespan"}) == {"type": "lifespan"}
