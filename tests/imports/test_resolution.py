"""Redirect hops and DNS answers, with a resolver stub in the real code path and a real source on loopback."""

from __future__ import annotations

import pytest

from tests.imports.sources import CONTENT, SourceServer
from tusd_py.imports.policy import AllowList
from tusd_py.imports.source import SourceClient, SourcePolicy, check_target
from tusd_py.protocol.errors import TusError


class StubResolver:
    """Answers from a table of lists; each name's answers are used in turn (the last one repeats)."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        answers = self.answers.get(host, [[]])
        return answers[min(self.calls.count(host) - 1, len(answers) - 1)]


async def fetch_all(policy: SourcePolicy, url: str) -> bytes:
    client = SourceClient(policy)
    try:
        response, _ = await client.open(await check_target(url, policy), {})
        try:
            return await response.aread()
        finally:
            await response.aclose()
    finally:
        await client.aclose()


async def test_a_rebinding_name_is_resolved_once_and_the_checked_address_is_used(source: SourceServer) -> None:
    port = source.server_address[1]
    resolver = StubResolver({"rebind.test": [["127.0.0.1"], ["169.254.169.254"]]})
    policy = SourcePolicy(allow=AllowList.parse("127.0.0.1"), resolver=resolver)
    assert await fetch_all(policy, f"http://rebind.test:{port}/file.bin") == CONTENT
    assert resolver.calls == ["rebind.test"]
    assert source.requests_to("/file.bin")[-1]["Host"] == f"rebind.test:{port}"


async def test_a_redirect_to_a_private_address_is_refused_before_connecting(source: SourceServer) -> None:
    port = source.server_address[1]
    resolver = StubResolver({"origin.test": [["127.0.0.1"]], "metadata.test": [["169.254.169.254"]]})
    policy = SourcePolicy(allow=AllowList.parse("origin.test"), resolver=resolver)
    with pytest.raises(TusError) as refused:
        await fetch_all(policy, f"http://origin.test:{port}/redirect?to=http://metadata.test/latest/")
    assert refused.value.code == "import_address_refused"
    assert refused.value.details["range"] == "link-local"


async def test_a_redirect_to_loopback_by_address_is_refused_when_only_the_name_is_allowed(
    source: SourceServer,
) -> None:
    port = source.server_address[1]
    resolver = StubResolver({"origin.test": [["127.0.0.1"]], "127.0.0.1": [["127.0.0.1"]]})
    policy = SourcePolicy(allow=AllowList.parse("origin.test"), resolver=resolver)
    with pytest.raises(TusError) as refused:
        await fetch_all(policy, f"http://origin.test:{port}/redirect?to=http://127.0.0.1:{port}/file.bin")
    assert refused.value.details["range"] == "loopback"


async def test_an_allowed_redirect_is_followed_and_checked(source: SourceServer) -> None:
    port = source.server_address[1]
    policy = SourcePolicy(allow=AllowList.parse("127.0.0.1"))
    assert await fetch_all(policy, f"http://127.0.0.1:{port}/redirect?to=/file.bin") == CONTENT


async def test_redirects_are_bounded(source: SourceServer) -> None:
    port = source.server_address[1]
    loop = f"http://127.0.0.1:{port}/redirect?to=/redirect?to=/redirect?to=/file.bin"
    policy = SourcePolicy(allow=AllowList.parse("127.0.0.1"), max_redirects=1)
    with pytest.raises(TusError) as refused:
        await fetch_all(policy, loop)
    assert refused.value.code == "import_too_many_redirects"
