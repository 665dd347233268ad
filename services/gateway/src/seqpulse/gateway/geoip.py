"""Country of an IP address from a MaxMind-format database (GeoIP2 / GeoLite2 Country, City or Enterprise).

Lookups are memory-mapped reads of a few microseconds, cheap enough to run inline on the event loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import geoip2.database
import geoip2.errors
import geoip2.models

from seqpulse.gateway.client_address import Address

_ISO_CODE = re.compile(r"^[A-Z]{2}$")
_Record = geoip2.models.Country  # City and Enterprise records are Country records with more fields


class CountryLookup:
    """Wraps a `geoip2.database.Reader`; `country()` never raises for an address it cannot place."""

    def __init__(self, reader: geoip2.database.Reader) -> None:
        self._reader = reader
        kind = reader.metadata().database_type
        # The reader refuses a method that does not match the database's type, hence the dispatch.
        if "Enterprise" in kind:
            self._lookup: Callable[[str], _Record] = reader.enterprise
        elif "City" in kind:
            self._lookup = reader.city
        elif "Country" in kind:
            self._lookup = reader.country
        else:
            reader.close()
            raise ValueError(f"{kind!r} is not a Country, City or Enterprise database")
        self.database_type = kind

    @classmethod
    def open(cls, path: Path) -> CountryLookup:
        """Open the database file (memory-mapped); raises if it is missing or not a MaxMind database."""
        return cls(geoip2.database.Reader(str(path)))

    def country(self, address: Address | None) -> str | None:
        """The ISO 3166-1 alpha-2 code of where `address` is, or None (unknown, private, not in the base)."""
        if address is None:
            return None
        try:
            code = self._lookup(str(address)).country.iso_code
        except (geoip2.errors.AddressNotFoundError, ValueError):
            return None
        return code if code is not None and _ISO_CODE.match(code) else None

    def close(self) -> None:
        self._reader.close()
