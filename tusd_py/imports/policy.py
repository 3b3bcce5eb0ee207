"""Which URLs and addresses an import may reach (SSRF safety): pure decisions, no I/O."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from tusd_py.protocol.errors import TusError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SCHEMES = {"http": 80, "https": 443}
MAX_URL_LENGTH = 8192

# Why an address is refused, checked in this order; the first that applies names the refusal.
_RANGES = (
    ("loopback", "is_loopback"),
    ("link-local", "is_link_local"),  # 169.254.169.254: the cloud metadata service
    ("private", "is_private"),
    ("multicast", "is_multicast"),
    ("reserved", "is_reserved"),
    ("unspecified", "is_unspecified"),
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not public, not `is_private` in Python


@dataclass(frozen=True)
class Target:
    """One URL to fetch, split as a connection needs it."""

    url: str
    scheme: str
    host: str  # lower case, IPv6 without brackets
    port: int
    path: str  # path and query, never empty

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == SCHEMES[self.scheme] else f"{host}:{self.port}"

    def url_for(self, address: str) -> str:
        """The same URL with the host replaced by the checked address it will connect to."""
        host = f"[{address}]" if ":" in address else address
        return f"{self.scheme}://{host}:{self.port}{self.path}"


def parse_target(url: object) -> Target:
    """A URL an import may name: absolute http or https with a host, no credentials; 400 otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise TusError(400, "missing_url", "give the URL to import as a non-empty string in `url`")
    if len(url) > MAX_URL_LENGTH:
        raise TusError(400, "invalid_url", f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise TusError(400, "invalid_url", "the URL cannot be parsed", {"url": url[:200]}) from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise TusError(
            400,
            "import_scheme_refused",
            "only http and https URLs can be imported",
            {"url": url[:200], "scheme": scheme[:20]},
        )
    if not parts.hostname:
        raise TusError(400, "invalid_url", "the URL has no host", {"url": url[:200]})
    if parts.username is not None or parts.password is not None:
        raise TusError(400, "import_credentials_refused", "URLs with user:password@ are not imported")
    return Target(url.strip(), scheme, parts.hostname.lower(), port or SCHEMES[scheme], _path_of(parts))


def _path_of(parts: SplitResult) -> str:
    path = parts.path or "/"
    return path + ("?" + parts.query if parts.query else "")


@dataclass(frozen=True)
class AllowList:
    """What `--import-allow` lets through despite its range: exact hosts, `.suffix` domains, CIDRs."""

    hosts: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> AllowList:
        hosts: set[str] = set()
        suffixes: list[str] = []
        networks: list[IPNetwork] = []
        for item in (text or "").split(","):
            entry = item.strip().lower()
            if not entry:
                continue
            if entry.startswith("."):
                suffixes.append(entry)
            elif "/" in entry:
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    raise ValueError(f"import_allow: {entry!r} is not a CIDR block") from None
            else:
                hosts.add(entry.strip("[]"))
        return cls(frozenset(hosts), tuple(suffixes), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return host in self.hosts or any(host.endswith(suffix) for suffix in self.suffixes)

    def allows_address(self, address: IPAddress) -> bool:
        return str(address) in self.hosts or any(address in network for network in self.networks)


def refused_range(address: IPAddress) -> str | None:
    """The kind of non-public range an address is in, or None for a public address."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:  # ::ffff:127.0.0.1 is 127.0.0.1
        address = mapped
    for name, attribute in _RANGES:
        if getattr(address, attribute):
            return name
    if address in _SHARED:
        return "private"
    if not address.is_global:
        return "reserved"
    return None


def check_addresses(target: Target, addresses: list[str], allow: AllowList) -> list[str]:
    """The addresses a name resolved to, every one of them checked; 403 when any is refused (a name that
    resolves to one public and one private address could be steered to the private one)."""
    if not addresses:
        raise TusError(400, "import_host_unknown", f"{target.host} does not resolve", {"host": target.host})
    host_allowed = allow.allows_host(target.host)
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        kind = refused_range(address)
        if kind is not None and not host_allowed and not allow.allows_address(address):
            raise TusError(
                403,
                "import_address_refused",
                f"{target.host} resolves to {address}, a {kind} address; imports may not reach it (see --import-allow)",
                {"host": target.host, "address": str(address), "range": kind},
            )
    return addresses
