"""Encryption of token caches at rest, with key rotation.

Each configured secret (by default ``SECRET_KEY`` then ``SECRET_KEY_FALLBACKS``) is
stretched with HKDF into an AES-256-GCM key. New data is sealed with the first key;
data sealed under any of the others still opens, and is sealed anew on its next write.

A sealed cache is ``b"m1" + key id (4 bytes) + nonce (12 bytes) + ciphertext``: the
key id picks the key without trial decryption, the plaintext is MSAL's serialized cache
compressed with zlib (it is indented JSON), and the account's ``home_account_id`` is
bound in as associated data, so a sealed cache copied into another account's partition
does not open there. The stores pass the configured secrets (``ENCRYPTION_KEYS``).
"""

from __future__ import annotations

import hashlib
import os
import zlib
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["InvalidToken", "Keyring", "keyring"]

FORMAT = b"m1"
_KEY_ID, _NONCE = 4, 12
_HEADER = len(FORMAT) + _KEY_ID + _NONCE


class InvalidToken(ValueError):
    """Sealed data that no configured key opens, or that was altered."""


class Keyring:
    """The AES-GCM keys derived from a tuple of secrets, newest first."""

    def __init__(self, secrets: tuple[str | bytes, ...]) -> None:
        if not secrets:
            raise ValueError("At least one secret is needed.")
        self._keys: dict[bytes, AESGCM] = {}
        for secret in secrets:
            material = secret.encode() if isinstance(secret, str) else secret
            key = HKDF(
                algorithm=hashes.SHA256(), length=32, salt=b"msal_django", info=b"token-cache-m1"
            ).derive(material)
            self._keys.setdefault(hashlib.sha256(key).digest()[:_KEY_ID], AESGCM(key))
        self._newest = next(iter(self._keys.items()))

    def encrypt(self, plaintext: str, context: str) -> bytes:
        key_id, aead = self._newest
        nonce = os.urandom(_NONCE)
        sealed = aead.encrypt(nonce, zlib.compress(plaintext.encode()), context.encode())
        return FORMAT + key_id + nonce + sealed

    def decrypt(self, data: bytes, context: str) -> str:
        if len(data) <= _HEADER or not data.startswith(FORMAT):
            raise InvalidToken("Not a sealed msal_django token cache.")
        aead = self._keys.get(data[len(FORMAT) : len(FORMAT) + _KEY_ID])
        if aead is None:
            raise InvalidToken("Sealed with a key that is not configured.")
        try:
            compressed = aead.decrypt(
                data[_HEADER - _NONCE : _HEADER], data[_HEADER:], context.encode()
            )
            return zlib.decompress(compressed).decode()
        except (InvalidTag, zlib.error, UnicodeDecodeError) as exc:
            raise InvalidToken("Altered, or sealed for another account.") from exc


@lru_cache(maxsize=16)
def keyring(secrets: tuple[str | bytes, ...]) -> Keyring:
    """The keys of ``secrets`` (``ENCRYPTION_KEYS``), derived once per distinct tuple."""
    return Keyring(secrets)
