"""Credential formats and hashing: what a token and an API key look like, and that only hashes are kept."""

from __future__ import annotations

import re

from seqpulse.gateway.auth import (
    digest,
    has_scope,
    hash_password,
    new_access_token,
    new_api_key,
    verify_password,
)


def test_token_and_key_formats() -> None:
    token, prefix = new_access_token()
    assert re.fullmatch(r"spt_[A-Za-z0-9_-]{43}", token) and prefix == token[4:12]
    key, key_prefix = new_api_key()
    assert re.fullmatch(r"SP_[0-9a-f]{32}", key) and key_prefix == key[3:11]
    assert new_access_token()[0] != token and new_api_key()[0] != key
    assert len(digest(token)) == 32 and digest(token) != digest(key)


def test_passwords_are_argon2id_and_verify() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "wrong")
    assert not verify_password("not-a-hash", "anything")


def test_higher_scopes_include_lower_ones() -> None:
    assert has_scope(frozenset({"admin"}), "read") and has_scope(frozenset({"write"}), "read")
    assert not has_scope(frozenset({"read"}), "write")
    assert not has_scope(frozenset({"write"}), "admin")
