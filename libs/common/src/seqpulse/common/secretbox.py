"""Encryption at rest for secrets SeqPulse must be able to read back (project HMAC secrets)."""

from __future__ import annotations

import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"


class SecretBox:
    """AES-256-GCM with a key derived from `SEQPULSE_SECRET_KEY`; `context` binds a ciphertext to its row."""

    def __init__(self, secret_key: str) -> None:
        self._aead = AESGCM(hashlib.sha256(b"seqpulse-secretbox:" + secret_key.encode()).digest())

    def seal(self, plaintext: str, *, context: str) -> bytes:
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def open(self, sealed: bytes, *, context: str) -> str:
        if not sealed.startswith(_VERSION):
            raise ValueError("unknown secret format")
        nonce, body = sealed[1:13], sealed[13:]
        return self._aead.decrypt(nonce, body, context.encode()).decode()
