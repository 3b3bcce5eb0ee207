"""Opening a URL to import: resolve once, check every address and redirect hop, connect to what was checked."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx

from tusd_py.imports.policy import AllowList, Target, check_addresses, parse_target
from tusd_py.protocol.errors import TusError

Resolver = Callable[[str, int], Awaitable[list[str]]]
REDIRECTS = {301, 302, 303, 307, 308}


async def resolve(host: str, port: int) -> list[str]:
    """Every address the name resolves to (a literal address resolves to itself)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class CheckedTarget:
    """A URL with the addresses it resolved to, all allowed: the connection goes to the first of them."""

    target: Target
    addresses: list[str]


@dataclass(frozen=True)
class SourcePolicy:
    allow: AllowList = field(default_factory=AllowList)
    max_redirects: int = 5
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    resolver: Resolver = resolve


async def check_target(url: object, policy: SourcePolicy) -> CheckedTarget:
    target = parse_target(url)
    addresses = check_addresses(target, await policy.resolver(target.host, target.port), policy.allow)
    return CheckedTarget(target, addresses)


@dataclass
class Validator:
    """What identifies one version of the source, so a resumed fetch gets the same bytes."""

    etag: str | None = None
    last_modified: str | None = None

    @classmethod
    def of(cls, response: httpx.Response) -> Validator:
        etag = response.headers.get("etag")
        strong = etag if etag is not None and not etag.startswith("W/") else None
        return cls(strong, response.headers.get("last-modified"))

    @property
    def known(self) -> bool:
        return self.etag is not None or self.last_modified is not None

    def matches(self, other: Validator) -> bool:
        if self.etag is not None:
            return self.etag == other.etag
        return self.last_modified is None or self.last_modified == other.last_modified


class SourceClient:
    """Requests to checked addresses only: no proxies from the environment, redirects followed by hand."""

    def __init__(self, policy: SourcePolicy) -> None:
        self.policy = policy
        self.client = httpx.AsyncClient(
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout),
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def open(self, checked: CheckedTarget, headers: dict[str, str]) -> tuple[httpx.Response, CheckedTarget]:
        """The source's answer (not a redirect), streamed; the hop it came from. Raises TusError for a refused
        or looping redirect, httpx errors for a network failure."""
        for _ in range(self.policy.max_redirects + 1):
            response = await self._send(checked, headers)
            location = response.headers.get("location")
            if response.status_code not in REDIRECTS or location is None:
                return response, checked
            await response.aclose()
            checked = await check_target(urljoin(checked.target.url, location), self.policy)
        raise TusError(
            502,
            "import_too_many_redirects",
            f"the source redirected more than {self.policy.max_redirects} times",
            {"max_redirects": self.policy.max_redirects},
        )

    async def _send(self, checked: CheckedTarget, headers: dict[str, str]) -> httpx.Response:
        target = checked.target
        address = checked.addresses[0]
        request = self.client.build_request(
            "GET",
            target.url_for(address),
            headers={"Host": target.host_header, "Accept-Encoding": "identity", **headers},
            # TLS names and checks the host the URL named, while the socket goes to the checked address.
            extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
        )
        return await self.client.send(request, stream=True)
