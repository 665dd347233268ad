"""Country lookups on MaxMind's test databases, checked against the source data they were built from."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from seqpulse.gateway.client_address import parse_address
from seqpulse.gateway.geoip import CountryLookup

GEOIP = Path(__file__).resolve().parents[3] / "data" / "geoip"
DATABASES = ("GeoIP2-Country-Test", "GeoLite2-Country-Test", "GeoIP2-City-Test", "GeoLite2-City-Test")
Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def expectations(name: str) -> list[tuple[Net, str | None]]:
    """(network, country) of the database's source JSON (`[{"<cidr>": {"country": {"iso_code": …}}}]`)."""
    entries = json.loads((GEOIP / f"{name}.json").read_text())
    return [
        (ipaddress.ip_network(cidr, strict=False), (data.get("country") or {}).get("iso_code"))
        for entry in entries
        for cidr, data in entry.items()
    ]


def expected_country(nets: list[tuple[Net, str | None]], address: str) -> str | None:
    """The country of the most specific network holding `address`, as the database answers."""
    ip = ipaddress.ip_address(address)
    holding = [(net.prefixlen, country) for net, country in nets if net.version == ip.version and ip in net]
    assert holding, f"{address} is in no network of the source data"
    return max(holding, key=lambda pair: pair[0])[1]


@pytest.fixture(scope="module", params=DATABASES)
def database(request: pytest.FixtureRequest) -> tuple[str, CountryLookup]:
    lookup = CountryLookup.open(GEOIP / f"{request.param}.mmdb")
    request.addfinalizer(lookup.close)
    return request.param, lookup


@pytest.mark.parametrize(
    ("address", "country"),
    [
        ("81.2.69.142", "GB"),
        ("89.160.20.115", "SE"),
        ("216.160.83.60", "US"),
        ("2001:218::1", "JP"),
        ("2001:220::1", "KR"),
        ("2001:238::42", "TW"),
    ],
)
def test_known_ipv4_and_ipv6_addresses_resolve_as_the_source_data_says(address: str, country: str) -> None:
    nets = expectations("GeoLite2-Country-Test")
    assert expected_country(nets, address) == country  # the JSON says so, not only this test
    lookup = CountryLookup.open(GEOIP / "GeoLite2-Country-Test.mmdb")
    try:
        assert lookup.country(parse_address(address)) == country
    finally:
        lookup.close()


def test_every_network_of_the_source_data_gets_its_country(database: tuple[str, CountryLookup]) -> None:
    name, lookup = database
    nets = expectations(name)
    checked = 0
    for net, _country in nets:
        if net.version == 6 and int(net.network_address) < 2**32:
            continue  # IPv4 written as ::a.b.c.d: the database answers those through the IPv4 entries
        address = str(net.network_address)
        assert lookup.country(parse_address(address)) == expected_country(nets, address), (name, address)
        checked += 1
    assert checked > 200


def test_city_databases_answer_with_their_country() -> None:
    lookup = CountryLookup.open(GEOIP / "GeoIP2-City-Test.mmdb")
    try:
        assert lookup.database_type == "GeoIP2-City"
        assert lookup.country(parse_address("214.78.120.1")) == "US"
    finally:
        lookup.close()


@pytest.mark.parametrize("address", ["10.0.0.1", "127.0.0.1", "192.0.2.1", "::1", "fe80::1"])
def test_addresses_the_database_does_not_know_have_no_country(
    database: tuple[str, CountryLookup], address: str
) -> None:
    _, lookup = database
    assert lookup.country(parse_address(address)) is None


def test_no_address_has_no_country(database: tuple[str, CountryLookup]) -> None:
    assert database[1].country(None) is None


def test_an_ipv4_mapped_ipv6_peer_is_looked_up_as_ipv4() -> None:
    lookup = CountryLookup.open(GEOIP / "GeoLite2-Country-Test.mmdb")
    try:
        assert lookup.country(parse_address("::ffff:81.2.69.142")) == "GB"
    finally:
        lookup.close()


def test_a_missing_database_file_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        CountryLookup.open(tmp_path / "missing.mmdb")
