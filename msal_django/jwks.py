"""The provider's signing keys (its ``jwks_uri``), shared by every JWT check.

Fetched with the HTTP client MSAL is configured with, cached for a day, and fetched
again (at most once a minute) when a token names a ``kid`` not yet seen, so key
rotation needs no restart. Only asymmetric algorithms are accepted: never ``none``,
never HMAC (the client secret is no signing key).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import jwt
import requests

from msal_django import msal_app
from msal_django.conf import msal_settings
from msal_django.exceptions import ProviderError
from msal_django.redact import describe

ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
JWKS_MAX_AGE = 24 * 3600
JWKS_MIN_REFRESH_INTERVAL = 60.0


class UnknownSigningKey(ValueError):
    """No key of the provider matches the token's ``kid`` and ``alg``."""


def expected_jwks_uri() -> str:
    uri = msal_app.discovery_document().get("jwks_uri")
    if not isinstance(uri, str) or not uri.startswith("https://"):
        raise ProviderError(
            "The provider's OpenID configuration has no https jwks_uri.", transient=False
        )
    return uri


def signing_key(kid: str | None, alg: str) -> jwt.PyJWK:
    """The provider's key for ``kid`` and ``alg``; ``UnknownSigningKey`` if none matches,
    ``ProviderError`` if the keys cannot be fetched."""
    return _jwks.key(expected_jwks_uri(), kid, alg)


@dataclass(frozen=True, slots=True)
class _Key:
    kid: str | None
    alg: str | None  # as the JWKS declares it, if it does
    jwk: jwt.PyJWK


class _JwksCache:
    """The provider's signing keys by ``jwks_uri``, shared by all threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[float, list[_Key]]] = {}

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()

    def key(self, uri: str, kid: str | None, alg: str) -> jwt.PyJWK:
        fetched_at, keys = self._get(uri, refresh=False)
        found = _select(keys, kid, alg)
        if found is None and time.monotonic() - fetched_at >= JWKS_MIN_REFRESH_INTERVAL:
            # An unknown kid: the provider may have rotated its keys since we fetched them.
            _, keys = self._get(uri, refresh=True)
            found = _select(keys, kid, alg)
        if found is None:
            raise UnknownSigningKey("signed with an unknown key (kid)")
        return found

    def _get(self, uri: str, *, refresh: bool) -> tuple[float, list[_Key]]:
        with self._lock:
            cached = self._keys.get(uri)
        if cached is not None and not refresh and time.monotonic() - cached[0] < JWKS_MAX_AGE:
            return cached
        entry = (time.monotonic(), _fetch(uri))
        with self._lock:
            self._keys[uri] = entry
        return entry


def _select(keys: list[_Key], kid: str | None, alg: str) -> jwt.PyJWK | None:
    candidates = [
        k.jwk
        for k in keys
        if (kid is None or k.kid == kid)
        and k.jwk.key_type == _KEY_TYPES.get(alg[:2])
        and k.alg in (None, alg)
    ]
    # Without a kid, only an unambiguous key will do.
    return candidates[0] if len(candidates) == 1 else None


def _fetch(uri: str) -> list[_Key]:
    http = msal_app.http_client() or requests.Session()
    try:
        # Not MSAL's throttled client: that caches GETs for a day, defeating the refetch.
        response = http.get(uri, timeout=msal_settings.TIMEOUT)
        response.raise_for_status()
        data = response.json()
    except (OSError, ValueError) as exc:
        raise ProviderError(f"Could not load {uri}: {describe(exc)}", transient=True) from None
    finally:
        http.close()
    keys: list[_Key] = []
    for jwk in data.get("keys", []) if isinstance(data, dict) else []:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            continue
        try:
            parsed = jwt.PyJWK(jwk)
        except jwt.PyJWTError:
            continue  # A key type or algorithm PyJWT cannot use: not one we accept.
        kid, alg = jwk.get("kid"), jwk.get("alg")
        keys.append(
            _Key(
                kid if isinstance(kid, str) else None,
                alg if isinstance(alg, str) else None,
                parsed,
            )
        )
    return keys


_jwks = _JwksCache()


def reset() -> None:
    """Forget the cached provider keys (tests; a changed provider)."""
    _jwks.clear()
