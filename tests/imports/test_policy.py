"""The SSRF policy as pure decisions: which addresses are refused, and what --import-allow lets through."""

from __future__ import annotations

import ipaddress

import pytest

from tusd_py.imports.policy import AllowList, check_addresses, parse_target, refused_range
from tusd_py.protocol.errors import TusError


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "private"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "private"),  # Python counts the reserved 240/4 as private: refused either way
        ("0.0.0.0", "private"),
        ("93.184.216.34", None),
        ("2606:2800:220:1:248:1893:25c8:1946", None),
    ],
)
def test_non_public_ranges_are_named(address: str, kind: str | None) -> None:
    found = refused_range(ipaddress.ip_address(address))
    assert (found is not None) == (kind is not None)


def test_every_address_a_name_resolves_to_is_checked() -> None:
    target = parse_target("http://mixed.example/")
    with pytest.raises(TusError) as refused:
        check_addresses(target, ["93.184.216.34", "10.0.0.7"], AllowList())
    assert refused.value.code == "import_address_refused"
    assert refused.value.details["address"] == "10.0.0.7"


def test_an_exact_address_allows_that_address_only() -> None:
    allow = AllowList.parse("127.0.0.1")
    assert check_addresses(parse_target("http://127.0.0.1:9/"), ["127.0.0.1"], allow) == ["127.0.0.1"]
    with pytest.raises(TusError):
        check_addresses(parse_target("http://127.0.0.2:9/"), ["127.0.0.2"], allow)


def test_suffix_domains_and_cidrs_allow_what_they_name() -> None:
    allow = AllowList.parse(" .intranet.example , 10.1.0.0/16,files.local")
    assert check_addresses(parse_target("http://a.intranet.example/"), ["192.168.0.9"], allow)
    assert check_addresses(parse_target("http://files.local/"), ["192.168.0.9"], allow)
    assert check_addresses(parse_target("http://other.example/"), ["10.1.200.3"], allow)
    with pytest.raises(TusError):
        check_addresses(parse_target("http://intranet.example.evil/"), ["10.2.0.1"], allow)


def test_a_bad_cidr_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="CIDR"):
        AllowList.parse("10.0.0.0/99")


def test_a_name_that_resolves_to_nothing_is_unknown() -> None:
    with pytest.raises(TusError) as refused:
        check_addresses(parse_target("https://nowhere.example/"), [], AllowList())
    assert refused.value.code == "import_host_unknown"


def test_the_connection_url_keeps_the_path_and_names_the_checked_address() -> None:
    target = parse_target("https://Files.Example:8443/a/b?c=d")
    assert target.url_for("2001:db8::1") == "https://[2001:db8::1]:8443/a/b?c=d"
    assert target.host_header == "files.example:8443"
