"""The one check of a JWT the provider signed, shared by the web API's bearer tokens
(``msal_django.webapi.bearer``) and back-channel logout tokens
(``msal_django.signout.logout_token``); each keeps only its own claim rules.

- ``checked_header``: the JOSE header, read before the signature is known, every member
  we read a string, an asymmetric ``alg`` (``msal_django.jwks.ALGORITHMS``), a ``typ``
  among those the caller allows, no ``crit`` (RFC 7515 4.1.11: we understand no
  extension);
- ``verified_claims``: the signature checked with the provider's key for the ``kid``
  (``msal_django.jwks``: cached, fetched again on an unknown ``kid``), the audience and
  the claims the caller requires, the lifetime with ``CLOCK_SKEW``;
- ``provider_issuer``, ``issuer_matches`` and ``accepted_issuers``: the provider's
  ``issuer`` from discovery, where Entra's multi-tenant ``{tenantid}`` stands for one
  tenant.

Errors are raised as the caller's own ``ValueError`` subclass, with messages that name
the kind of token and never echo it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

import jwt

from msal_django import jwks, msal_app
from msal_django.conf import msal_settings
from msal_django.exceptions import ProviderError
from msal_django.redact import loggable

# Entra's v1 issuer lives on the STS host of the cloud's login host.
_V1_HOSTS = {
    "login.microsoftonline.com": "sts.windows.net",
    "login.microsoftonline.us": "sts.windows.net",
    "login.chinacloudapi.cn": "sts.chinacloudapi.cn",
}
TENANT_ID = re.compile(r"[0-9A-Za-z._-]{1,64}")
_STRING_MEMBERS = ("alg", "kid", "typ", "cty")


def checked_header(
    token: str, *, types: Collection[str], error: type[ValueError], noun: str
) -> dict[str, Any]:
    """The JOSE header of ``token``, every member we read type-checked: it is not
    signed yet. ``types``: the ``typ`` values allowed (lower case, without
    ``application/``); a token without ``typ`` passes."""
    if token.count(".") != 2:
        raise error(f"The {noun} is not a signed JWT (JWS compact form).")
    try:
        header: dict[str, Any] = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise error(f"The {noun} is malformed: {loggable(exc)}") from None
    except (TypeError, ValueError, OverflowError):
        raise error(f"The {noun}'s header is malformed.") from None
    for name in _STRING_MEMBERS:
        if name in header and not isinstance(header[name], str):
            raise error(f"The {noun}'s {name} header is not a string.")
    alg = header.get("alg")
    if alg not in jwks.ALGORITHMS:
        raise error(f"The {noun}'s alg {loggable(alg, 20)!r} is not allowed.")
    typ = header.get("typ")
    if typ is not None and typ.lower().removeprefix("application/") not in types:
        raise error(f"The {noun}'s typ {loggable(typ, 40)!r} is not allowed.")
    if "crit" in header:
        raise error(f"The {noun}'s crit header names an unsupported extension.")
    return header


def verified_claims(
    token: str,
    header: dict[str, Any],
    *,
    audience: str | list[str],
    require: list[str],
    error: type[ValueError],
    noun: str,
) -> dict[str, Any]:
    """The claims of ``token`` once its signature, ``aud``, ``exp``, ``nbf`` and the
    ``require``-d claims are checked (``iss`` is the caller's: ``issuer_matches``).
    ``ProviderError`` when the provider's keys cannot be fetched."""
    alg = header["alg"]
    try:
        key = jwks.signing_key(header.get("kid"), alg)
    except jwks.UnknownSigningKey:
        raise error(f"The {noun} is signed with an unknown key (kid).") from None
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            audience=audience,
            leeway=msal_settings.CLOCK_SKEW,
            options={"require": require, "verify_iss": False},
        )
    except jwt.PyJWTError as exc:
        raise error(f"The {noun} is not valid: {loggable(exc)}") from None
    except (TypeError, ValueError, OverflowError):  # a claim PyJWT cannot compare
        raise error(f"The {noun} has a claim of the wrong type.") from None
    return claims


def provider_issuer() -> str:
    """The provider's ``issuer`` (from discovery); ``ProviderError`` if unreachable."""
    issuer = msal_app.discovery_document().get("issuer")
    if not isinstance(issuer, str) or not issuer:
        raise ProviderError("The provider's OpenID configuration has no issuer.", transient=False)
    return issuer


def issuer_matches(value: str, expected: str) -> bool:
    """``value`` is ``expected``; Entra's multi-tenant ``{tenantid}`` stands for one tenant."""
    if "{tenantid}" not in expected:
        return value == expected
    pattern = re.escape(expected).replace(re.escape("{tenantid}"), TENANT_ID.pattern)
    return re.fullmatch(pattern, value) is not None


def accepted_issuers(tenant_id: str) -> set[str]:
    """The v2 and v1 issuers of ``tenant_id`` (a token's ``tid``) at the provider."""
    v2 = provider_issuer().replace("{tenantid}", tenant_id)
    accepted = {v2}
    if v2.endswith(f"/{tenant_id}/v2.0") and tenant_id:
        parts = urlsplit(v2)
        sts = _V1_HOSTS.get(parts.netloc.lower())
        if sts is not None:
            accepted.add(f"https://{sts}/{tenant_id}/")
        else:  # another Entra-like provider (the local one): its v1 issuer beside v2
            accepted.add(v2.removesuffix("v2.0"))
    return accepted
