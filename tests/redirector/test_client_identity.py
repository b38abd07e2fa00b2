"""Who is guessing a password: SECURELINK_TRUSTED_PROXIES is the only trust in X-Forwarded-For."""

from __future__ import annotations

import ipaddress

import pytest

from redirector import password
from shared.settings import Settings, SettingsError

LOCAL = (ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("10.0.0.0/8"))


def client(
    peer: str | None, forwarded: str | None, trusted: tuple[password.Network, ...] = LOCAL
) -> str | None:
    address = password.client_address(peer, forwarded, trusted)
    return None if address is None else str(address)


def test_with_no_trusted_proxy_the_peer_is_the_client() -> None:
    assert client("127.0.0.1", "198.51.100.1", ()) == "127.0.0.1"


def test_an_untrusted_peer_is_the_client_whatever_it_forwards() -> None:
    assert client("203.0.113.9", "198.51.100.1") == "203.0.113.9"


def test_the_rightmost_untrusted_hop_is_the_client() -> None:
    assert client("127.0.0.1", "192.0.2.1, 198.51.100.7, 10.2.3.4") == "198.51.100.7"
    assert client("::ffff:127.0.0.1", " 198.51.100.7 ") == "198.51.100.7"


def test_a_hop_that_is_not_an_address_ends_the_walk_at_the_trusted_proxy() -> None:
    assert client("127.0.0.1", "attacker-1") == "127.0.0.1"
    assert client("127.0.0.1", "198.51.100.7, attacker-1, 10.0.0.5") == "10.0.0.5"
    assert client("127.0.0.1", "") == "127.0.0.1"


def test_only_trusted_hops_leave_the_leftmost_one() -> None:
    assert client("127.0.0.1", "10.0.0.1, 10.0.0.2") == "10.0.0.1"


def test_a_peer_that_is_no_address_is_nobody() -> None:
    assert client(None, "198.51.100.1") is None
    assert client("unix-socket", "198.51.100.1") is None


def test_an_overlong_chain_is_read_from_its_right_end_only() -> None:
    chain = ", ".join(["10.0.0.1"] * 100 + ["198.51.100.3"])
    assert client("127.0.0.1", chain + ", 10.9.9.9") == "198.51.100.3"
    assert client("127.0.0.1", "198.51.100.3, " + ", ".join(["10.0.0.1"] * 100)) == "10.0.0.1"


def test_identities_are_cached_by_parsed_address_only() -> None:
    password._identity.cache_clear()
    for n in range(3):
        password.client_id(f"2001:db8::{n}")
    assert password.client_id("not an address" * 1000) is None
    info = password._identity.cache_info()
    assert info.currsize == 3
    assert info.maxsize is not None


def test_trusted_proxies_setting_reads_addresses_and_networks() -> None:
    settings = Settings.from_env({"SECURELINK_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8,::1,"})
    assert [str(n) for n in settings.trusted_proxies] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    assert Settings.from_env({}).trusted_proxies == ()


def test_a_malformed_trusted_proxy_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="SECURELINK_TRUSTED_PROXIES: 'proxy' is not an IP"):
        Settings.from_env({"SECURELINK_TRUSTED_PROXIES": "10.0.0.0/8, proxy"})
