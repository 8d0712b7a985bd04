"""Validation of back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0, 2.6).

``validate(token)`` returns the claims that name what to log out, or raises
``InvalidLogoutToken`` saying which check failed (never echoing the token). The
provider's keys come from its ``jwks_uri``, fetched with the HTTP client MSAL is
configured with, cached, and fetched again (at most once a minute) when a token names a
``kid`` not yet seen, so key rotation needs no restart.

Replays are caught by remembering each ``jti`` in Django's default cache until the
token could no longer be accepted anyway. ``cache.add`` is atomic in the Redis,
memcached and database caches, so this holds across processes and hosts; the
``LocMemCache`` remembers per process only, and the ``DummyCache`` not at all.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from django.core.cache import cache

from . import client
from .conf import msal_settings
from .exceptions import ProviderError
from .redact import describe, loggable

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# Asymmetric algorithms only: never "none", never HMAC (the client secret is no key here).
ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
_TYPES = frozenset({"jwt", "logout+jwt"})
JWKS_MAX_AGE = 24 * 3600
JWKS_MIN_REFRESH_INTERVAL = 60.0
JTI_CACHE_PREFIX = "msal_django:logout_jti:"
MAX_CLAIM_LENGTH = 255  # SignInSession.sid and the issuer are stored in 255 characters


class InvalidLogoutToken(ValueError):
    """The logout token fails a check of the specification; the message says which."""


@dataclass(frozen=True, slots=True)
class LogoutClaims:
    """What a valid logout token names: a provider session (``sid``) and/or a ``subject``."""

    issuer: str
    subject: str | None
    sid: str | None
    jti: str
    remember_until: float  # epoch seconds: after this the token is refused as too old

    @property
    def replay_key(self) -> str:
        digest = hashlib.sha256(f"{self.issuer}\n{self.jti}".encode()).hexdigest()
        return JTI_CACHE_PREFIX + digest


def expected_issuer() -> str:
    """The provider's ``issuer`` (from discovery); raises ``ProviderError`` if unreachable."""
    issuer = client.discovery_document().get("issuer")
    if not isinstance(issuer, str) or not issuer:
        raise ProviderError("The provider's OpenID configuration has no issuer.", transient=False)
    return issuer


def issuer_matches(value: str, expected: str) -> bool:
    """``value`` is ``expected``; Entra's multi-tenant ``{tenantid}`` stands for one tenant."""
    if "{tenantid}" not in expected:
        return value == expected
    pattern = re.escape(expected).replace(re.escape("{tenantid}"), r"[0-9A-Za-z._-]+")
    return re.fullmatch(pattern, value) is not None


def validate(token: str, *, now: float | None = None) -> LogoutClaims:
    """Check ``token`` as section 2.6 demands and remember its ``jti``.

    Raises ``InvalidLogoutToken`` for a token to refuse, ``ProviderError`` when the
    provider's configuration or keys cannot be fetched.
    """
    now = time.time() if now is None else now
    claims = _verified_claims(token, now)
    issuer = _check_claims(claims, now)
    # Past this the iat check refuses the token whatever its exp, so no replay can pass.
    remember_until = claims["iat"] + msal_settings.LOGOUT_TOKEN_MAX_AGE + msal_settings.CLOCK_SKEW
    result = LogoutClaims(
        issuer=issuer,
        subject=claims.get("sub") or None,
        sid=claims.get("sid") or None,
        jti=claims["jti"],
        remember_until=remember_until,
    )
    # 2.6 step 9 (optional, done): a jti seen before is a replay. add() is atomic.
    if not cache.add(result.replay_key, 1, timeout=max(1, int(remember_until - now) + 1)):
        raise InvalidLogoutToken("This logout token (jti) was already used.")
    return result


def forget(claims: LogoutClaims) -> None:
    """Let the same token be retried (the logout it asked for could not be done)."""
    cache.delete(claims.replay_key)


def _verified_claims(token: str, now: float) -> dict[str, Any]:
    header = _header(token)
    alg = header["alg"]
    kid = header.get("kid")
    key = _jwks.key(expected_jwks_uri(), kid, alg)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            audience=msal_settings.CLIENT_ID,
            leeway=msal_settings.CLOCK_SKEW,
            options={"require": ["iss", "aud", "iat", "jti"], "verify_iss": False},
        )
    except jwt.PyJWTError as exc:
        raise InvalidLogoutToken(f"The logout token is not valid: {loggable(exc)}") from exc
    except (TypeError, ValueError, OverflowError) as exc:  # a claim PyJWT cannot compare
        raise InvalidLogoutToken("The logout token has a claim of the wrong type.") from exc
    return claims


def _header(token: str) -> dict[str, Any]:
    """The JOSE header, every member we read type-checked: it is not signed yet."""
    if token.count(".") != 2:
        raise InvalidLogoutToken("The logout token is not a signed JWT (JWS compact form).")
    try:
        header: dict[str, Any] = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidLogoutToken(f"The logout token is malformed: {loggable(exc)}") from exc
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidLogoutToken("The logout token's header is malformed.") from exc
    for name in ("alg", "kid", "typ", "cty"):
        if name in header and not isinstance(header[name], str):
            raise InvalidLogoutToken(f"The logout token's {name} header is not a string.")
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise InvalidLogoutToken(f"The logout token's alg {loggable(alg, 20)!r} is not allowed.")
    typ = header.get("typ")
    if typ is not None and typ.lower().removeprefix("application/") not in _TYPES:
        raise InvalidLogoutToken(f"The logout token's typ {loggable(typ, 40)!r} is not allowed.")
    # RFC 7515 4.1.11: extensions named in crit must be understood; we understand none.
    if "crit" in header:
        raise InvalidLogoutToken("The logout token's crit header names an unsupported extension.")
    return header


def _check_claims(claims: dict[str, Any], now: float) -> str:
    issuer = claims["iss"]
    if not isinstance(issuer, str) or not issuer_matches(issuer, expected_issuer()):
        raise InvalidLogoutToken("The logout token's iss is not the configured provider.")
    skew = msal_settings.CLOCK_SKEW
    iat = claims["iat"]
    if not isinstance(iat, int | float) or isinstance(iat, bool) or not math.isfinite(iat):
        raise InvalidLogoutToken("The logout token's iat is not a number.")
    if iat > now + skew:
        raise InvalidLogoutToken("The logout token's iat is in the future.")
    if iat < now - msal_settings.LOGOUT_TOKEN_MAX_AGE - skew:
        raise InvalidLogoutToken("The logout token was issued too long ago (iat).")
    # 2.6 step 4: events must hold the back-channel logout event, a JSON object.
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
        raise InvalidLogoutToken(f"The logout token's events has no {BACKCHANNEL_LOGOUT_EVENT}.")
    # 2.6 step 5: a sub or a sid (or both).
    sub, sid = claims.get("sub"), claims.get("sid")
    if not (isinstance(sub, str) and sub) and not (isinstance(sid, str) and sid):
        raise InvalidLogoutToken("The logout token has neither sub nor sid.")
    for name, value in (("sub", sub), ("sid", sid)):
        if value is not None and not isinstance(value, str):
            raise InvalidLogoutToken(f"The logout token's {name} is not a string.")
        if isinstance(value, str) and not storable_claim(value):
            raise InvalidLogoutToken(f"The logout token's {name} is too long or not printable.")
    # 2.6 step 6: a nonce would make it usable as an ID token; it must not have one.
    if "nonce" in claims:
        raise InvalidLogoutToken("The logout token has a nonce, which is forbidden.")
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti or not storable_claim(jti):
        raise InvalidLogoutToken("The logout token's jti is not a short printable string.")
    return issuer


def storable_claim(value: str) -> bool:
    """Fits the columns it is matched against, and holds no NUL (PostgreSQL refuses it)."""
    return len(value) <= MAX_CLAIM_LENGTH and value.isprintable()


def expected_jwks_uri() -> str:
    uri = client.discovery_document().get("jwks_uri")
    if not isinstance(uri, str) or not uri.startswith("https://"):
        raise ProviderError(
            "The provider's OpenID configuration has no https jwks_uri.", transient=False
        )
    return uri


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
            raise InvalidLogoutToken("The logout token is signed with an unknown key (kid).")
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
    http = client.http_client() or requests.Session()
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
