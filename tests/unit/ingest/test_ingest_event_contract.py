"""Properties Postgres could never store are invalid at the contract, not a crash or a stuck batch."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from seqpulse.common.messages import ProductEvent

HEAD = b'{"event_name":"user_login","occurred_at":"2026-11-22T10:00:00Z","properties":'


def test_an_integer_beyond_64_bits_is_a_validation_error_not_a_type_error() -> None:
    with pytest.raises(ValidationError, match="plain JSON"):
        ProductEvent.from_bytes(HEAD + b'{"n": 1180591620717411303424}}')


@pytest.mark.parametrize(
    "properties", [b'{"a": "x\\u0000y"}', b'{"a\\u0000": 1}', b'{"a": [{"b": "\\u0000"}]}']
)
def test_a_nul_character_anywhere_in_the_properties_is_invalid(properties: bytes) -> None:
    with pytest.raises(ValidationError, match="U\\+0000"):
        ProductEvent.from_bytes(HEAD + properties + b"}")


def test_a_literal_backslash_u0000_text_is_fine() -> None:
    event = ProductEvent.from_bytes(HEAD + b'{"a": "\\\\u0000"}}')
    assert event.properties == {"a": "\\u0000"}
