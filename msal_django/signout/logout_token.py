"""Validation of back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0, 2.6).

``validate(token)`` returns the claims that name what to log out, or raises
``InvalidLogoutToken`` saying which check failed (never echoing the token). The
provider's keys come from ``msal_django.jwks`` (cached, refetched on an unknown ``kid``).

Replays are caught by remembering each ``jti`` in Django's default cache until the
token could no longer be accepted anyway. ``cache.add`` is atomic in the Redis,
memcached and database caches, so this holds across processes and hosts; the
``LocMemCache`` remembers per process only, and the ``DummyCache`` not at all.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from msal_django import jose, jwks
from msal_django.conf import msal_settings

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
_TYPES = frozenset({"jwt", "logout+jwt"})
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
    header = jose.checked_header(token, types=_TYPES, error=InvalidLogoutToken, noun="logout token")
    return jose.verified_claims(
        token,
        header,
        audience=msal_settings.CLIENT_ID,
        require=["iss", "aud", "iat", "jti"],
        error=InvalidLogoutToken,
        noun="logout token",
    )


def _check_claims(claims: dict[str, Any], now: float) -> str:
    issuer = claims["iss"]
    if not isinstance(issuer, str) or not jose.issuer_matches(issuer, jose.provider_issuer()):
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


def reset() -> None:
    """Forget the cached provider keys (tests; a changed provider)."""
    jwks.reset()
