"""Validation of the access tokens this site's API is called with (RFC 6750 bearer tokens).

``validate(token)`` returns the claims of an Entra access token issued for this API, or
raises ``InvalidBearerToken`` saying which check failed (never echoing the token):

- a signed JWT (JWS compact form, at most ``MAX_TOKEN_LENGTH`` characters) whose ``alg``
  is asymmetric (never ``none``, never HMAC) and whose key is one of the provider's
  (``msal_django.jwks``: cached, refetched once on an unknown ``kid``);
- ``iss``: the tenant's v2 issuer (from discovery; a multi-tenant authority's
  ``{tenantid}`` replaced by the token's ``tid``) or its v1 issuer; with
  ``ALLOWED_TENANTS`` the ``tid`` must be one of them;
- ``aud`` in ``API_AUDIENCES``; ``exp`` and ``nbf`` with ``CLOCK_SKEW``;
- an access token, not an ID token or a logout token: it names the client it was issued
  to (``azp``, ``appid`` on v1, a string) and carries ``scp`` (delegated) or ``roles``
  (app-only);
- every claim that names someone (``iss``, ``tid``, ``oid``, ``sub``, ``azp``, ``appid``)
  is a printable string of bounded length, checked before any of them reaches a query;
  a delegated token names its user by ``oid`` and ``tid`` on Entra ID (``AUTHORITY``,
  B2C aside), by ``sub`` (or ``oid`` and ``tid``) elsewhere.

``authorize(claims, scopes, roles)`` then checks what the view requires.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from msal_django import jose
from msal_django.conf import msal_settings

MAX_TOKEN_LENGTH = 16 * 1024  # Entra's access tokens are a few KB; group claims cap them
_TYPES = frozenset({"jwt", "at+jwt"})
# Claims only an ID token or a logout token carries.
_NOT_ACCESS_TOKEN_CLAIMS = ("nonce", "at_hash", "c_hash", "events")
# OpenID Connect Core 2: a ``sub`` is at most 255 ASCII characters; the identity columns
# (``UserIdentity``) hold 255 as well.
MAX_IDENTIFIER_LENGTH = 255
_IDENTIFIER_CLAIMS = ("iss", "oid", "sub", "azp", "appid")
# The checked JOSE header of each token that passed ``validate``, by the token's SHA-256
# (the tokens themselves are not kept); emptied when full.
VALID_HEADERS_MAX = 1024
_valid_headers: dict[bytes, dict[str, Any]] = {}


class InvalidBearerToken(ValueError):
    """The bearer token must be refused (401 ``invalid_token``); the message says why."""


class InsufficientScope(Exception):
    """The token is valid but grants none of what the view requires (403)."""

    def __init__(self, scopes: Sequence[str], roles: Sequence[str]) -> None:
        self.scopes, self.roles = tuple(scopes), tuple(roles)
        wanted = [f"scope {s}" for s in scopes] + [f"app role {r}" for r in roles]
        super().__init__(f"The token grants none of: {', '.join(wanted)}.")


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A validated access token: its claims, and whether it acts for a user."""

    claims: dict[str, Any]

    @property
    def delegated(self) -> bool:
        """Issued to a client acting for a user (``scp``), not to an app alone."""
        return "scp" in self.claims

    @property
    def scopes(self) -> frozenset[str]:
        scp = self.claims.get("scp")
        return frozenset(scp.split()) if isinstance(scp, str) else frozenset()

    @property
    def roles(self) -> frozenset[str]:
        roles = self.claims.get("roles")
        if not isinstance(roles, list):
            return frozenset()
        return frozenset(r for r in roles if isinstance(r, str))

    @property
    def client_id(self) -> str:
        """The calling client (``azp``, or ``appid`` in v1 tokens)."""
        client = self.claims.get("azp") or self.claims.get("appid")
        return client if isinstance(client, str) else ""

    @property
    def tenant_id(self) -> str:
        tid = self.claims.get("tid")
        return tid if isinstance(tid, str) else ""


def validate(token: str) -> AccessToken:
    """The claims of ``token`` if it is an access token for this API; raises
    ``InvalidBearerToken`` otherwise, ``ProviderError`` if the provider's keys or
    configuration cannot be fetched."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidBearerToken("The token is too long.")
    # A client sends the same token until it expires: its header, a function of the token
    # alone, is parsed once (PyJWT parses the whole token again in decode below).
    digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
    header = _valid_headers.get(digest)
    if header is None:
        header = _header(token)
    claims = jose.verified_claims(
        token,
        header,
        audience=msal_settings.API_AUDIENCES,
        require=["iss", "aud", "exp"],
        error=InvalidBearerToken,
        noun="token",
    )
    _check_issuer(claims)
    access_token = _check_access_token(claims)
    if digest not in _valid_headers:  # only tokens that passed: no one else can fill it
        _remember(digest, header)
    return access_token


def _remember(digest: bytes, header: dict[str, Any]) -> None:
    if len(_valid_headers) >= VALID_HEADERS_MAX:
        _valid_headers.clear()
    _valid_headers[digest] = header


def authorize(token: AccessToken, scopes: Iterable[str] = (), roles: Iterable[str] = ()) -> None:
    """Raise ``InsufficientScope`` unless ``token`` grants one of ``scopes`` (delegated
    tokens) or one of ``roles`` (app-only tokens, or a user's app roles). With neither
    required, any valid access token passes."""
    scopes, roles = tuple(scopes), tuple(roles)
    if not scopes and not roles:
        return
    if scopes and token.delegated and token.scopes.intersection(scopes):
        return
    if roles and token.roles.intersection(roles):
        return
    raise InsufficientScope(scopes, roles)


def _header(token: str) -> dict[str, Any]:
    return jose.checked_header(token, types=_TYPES, error=InvalidBearerToken, noun="token")


def _check_issuer(claims: dict[str, Any]) -> None:
    tid = claims.get("tid", "")
    if not isinstance(tid, str) or (tid and not jose.TENANT_ID.fullmatch(tid)):
        raise InvalidBearerToken("The token's tid is not a tenant id.")
    iss = claims["iss"]
    if not isinstance(iss, str) or iss not in jose.accepted_issuers(tid):
        raise InvalidBearerToken("The token's iss is not the configured provider's tenant.")
    allowed = getattr(msal_settings, "ALLOWED_TENANTS", None)
    if allowed is not None and tid not in allowed:
        raise InvalidBearerToken("The token's tenant (tid) is not in ALLOWED_TENANTS.")


def _check_identifiers(claims: dict[str, Any]) -> None:
    """Each claim that names someone is a printable string of bounded length: no query,
    log line or partition key ever sees a list, a NUL byte or a megabyte."""
    for name in _IDENTIFIER_CLAIMS:
        value = claims.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidBearerToken(f"The token's {name} is not a string.")
        if not (0 < len(value) <= MAX_IDENTIFIER_LENGTH and value.isprintable()):
            raise InvalidBearerToken(f"The token's {name} is not a valid identifier.")


def _requires_object_id() -> bool:
    """Entra ID (not B2C, whose user flows may leave ``oid`` out): every delegated access
    token carries ``oid`` and ``tid``, and the user is known by them alone."""
    authority = (msal_settings.AUTHORITY or "").lower()
    return bool(authority) and "b2clogin." not in authority and "/b2c_1" not in authority


def _check_user(claims: dict[str, Any]) -> None:
    """A delegated token names its user the way ``MsalBackend.identity_key`` reads it."""
    by_object_id = bool(claims.get("oid")) and bool(claims.get("tid"))
    if _requires_object_id():
        if not by_object_id:
            raise InvalidBearerToken("The token names no user (oid and tid).")
    elif not (by_object_id or claims.get("sub")):
        raise InvalidBearerToken("The token names no user (oid and tid, or sub).")


def _check_access_token(claims: dict[str, Any]) -> AccessToken:
    for name in _NOT_ACCESS_TOKEN_CLAIMS:
        if name in claims:
            raise InvalidBearerToken(f"The token has a {name} claim: it is not an access token.")
    _check_identifiers(claims)
    token = AccessToken(claims)
    if not token.client_id:
        raise InvalidBearerToken("The token names no client (azp or appid): not an access token.")
    scp, roles = claims.get("scp"), claims.get("roles")
    if scp is not None and not isinstance(scp, str):
        raise InvalidBearerToken("The token's scp is not a string.")
    if roles is not None and not (
        isinstance(roles, list) and all(isinstance(r, str) for r in roles)
    ):
        raise InvalidBearerToken("The token's roles is not a list of strings.")
    if not token.scopes and not token.roles:
        raise InvalidBearerToken("The token carries neither scp nor roles.")
    if token.delegated:
        _check_user(claims)
    return token
