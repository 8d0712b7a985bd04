"""Encryption of token caches at rest, with key rotation.

Each configured key (by default ``SECRET_KEY`` then ``SECRET_KEY_FALLBACKS``) is
stretched with HKDF into a Fernet key. New data is encrypted with the first key; data
written under any of the others still decrypts, and is re-encrypted on its next write.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .conf import msal_settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "fernet_key"]


def fernet_key(secret: str | bytes) -> bytes:
    """Derive a Fernet key from any secret string (a Django ``SECRET_KEY`` for example)."""
    material = secret.encode() if isinstance(secret, str) else secret
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"msal_django", info=b"token-cache-v1"
    ).derive(material)
    return base64.urlsafe_b64encode(derived)


@lru_cache(maxsize=16)
def _multi_fernet(keys: tuple[str | bytes, ...]) -> MultiFernet:
    return MultiFernet([Fernet(fernet_key(key)) for key in keys])


def encrypt(plaintext: str) -> bytes:
    return _multi_fernet(msal_settings.ENCRYPTION_KEYS).encrypt(plaintext.encode())


def decrypt(ciphertext: bytes) -> str:
    """Decrypt with any configured key; raises ``InvalidToken`` if none fits or it was altered."""
    return _multi_fernet(msal_settings.ENCRYPTION_KEYS).decrypt(ciphertext).decode()
