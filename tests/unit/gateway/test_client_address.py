"""The client's address: the peer, or X-Forwarded-For only as far as trusted proxies vouch for it."""

from __future__ import annotations

import ipaddress

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from seqpulse.gateway.client_address import client_address, parse_address, parse_networks
from seqpulse.gateway.config import GatewaySettings

PROXIES = parse_networks("10.0.0.0/8, 2001:db8:ffff::/48")


def request(peer: str | None, *forwarded: str) -> web.Request:
    headers = CIMultiDict([("X-Forwarded-For", value) for value in forwarded])
    return make_mocked_request("POST", "/events", headers=headers).clone(remote=peer)


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_forwards() -> None:
    assert client_address(request("203.0.113.9", "81.2.69.142"), ()) == ip("203.0.113.9")


def test_a_forwarded_address_from_an_untrusted_peer_is_ignored() -> None:
    spoofed = request("203.0.113.9", "81.2.69.142")
    assert client_address(spoofed, PROXIES) == ip("203.0.113.9")


def test_behind_a_trusted_proxy_the_right_most_untrusted_address_is_the_client() -> None:
    # The client wrote "1.1.1.1" itself; the proxy appended the address it saw (81.2.69.142).
    assert client_address(request("10.0.0.2", "1.1.1.1, 81.2.69.142"), PROXIES) == ip("81.2.69.142")


def test_a_chain_of_trusted_proxies_is_walked_through_repeated_headers() -> None:
    chained = request("10.0.0.2", "1.1.1.1, 89.160.20.115", "10.1.2.3", "10.0.0.7")
    assert client_address(chained, PROXIES) == ip("89.160.20.115")


def test_a_trusted_proxy_without_forwarded_header_is_the_client() -> None:
    assert client_address(request("10.0.0.2"), PROXIES) == ip("10.0.0.2")


def test_a_chain_made_only_of_trusted_proxies_gives_its_left_most_address() -> None:
    assert client_address(request("10.0.0.2", "10.9.9.9, 10.0.0.3"), PROXIES) == ip("10.9.9.9")


def test_garbage_where_a_proxy_should_have_written_an_address_gives_no_address() -> None:
    assert client_address(request("10.0.0.2", "81.2.69.142, not-an-ip"), PROXIES) is None


def test_ipv6_peers_and_forwarded_ipv6_addresses() -> None:
    assert client_address(request("2001:218::1"), PROXIES) == ip("2001:218::1")
    behind = request("2001:db8:ffff::1", "2001:220::1")
    assert client_address(behind, PROXIES) == ip("2001:220::1")
    assert client_address(request("10.0.0.2", "[2001:220::1]:4711"), PROXIES) == ip("2001:220::1")


def test_ipv4_mapped_ipv6_peers_are_read_as_ipv4_so_ipv4_proxy_ranges_match() -> None:
    assert client_address(request("::ffff:10.0.0.2", "81.2.69.142"), PROXIES) == ip("81.2.69.142")


def test_no_peer_address_gives_none() -> None:
    assert client_address(request(None, "81.2.69.142"), PROXIES) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("81.2.69.142", "81.2.69.142"),
        (" 81.2.69.142:4711 ", "81.2.69.142"),
        ("[2001:220::1]:443", "2001:220::1"),
        ("2001:220::1", "2001:220::1"),
        ("::ffff:81.2.69.142", "81.2.69.142"),
        ("unknown", None),
        ("", None),
    ],
)
def test_parse_address(text: str, expected: str | None) -> None:
    assert parse_address(text) == (ip(expected) if expected else None)


def test_trusted_proxies_setting_accepts_cidrs_and_addresses_and_refuses_typos() -> None:
    settings = GatewaySettings(trusted_proxies="10.0.0.0/8, 192.0.2.7 ,2001:db8::/32")
    assert [str(net) for net in settings.trusted_networks] == ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]
    assert GatewaySettings().trusted_networks == ()
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/33"):
        GatewaySettings(trusted_proxies="10.0.0.0/33")
