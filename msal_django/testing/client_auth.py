"""How the token endpoint authenticates a client, once for every grant, as Entra ID does:

- a **client secret** (``client_secret`` or HTTP Basic), unless the app was registered
  without one;
- a **certificate** (``client_assertion_type`` ``...:jwt-bearer`` and a ``client_assertion``
  signed RS256 or PS256, RFC 7523): the header's ``x5t`` (SHA-1) or ``x5t#S256``
  (SHA-256) picks one of the app's certificates; ``iss`` = ``sub`` = the client id;
  ``aud`` the token endpoint (v2 or v1) of the tenant or the request's path, or the
  tenant's v2 issuer; ``exp`` (and ``nbf`` if present) within ``CLOCK_SKEW``; a ``jti``;
- a **federated token** (a client assertion with no ``x5t``/``x5t#S256`` whose ``iss`` is
  not the client): it must match one of the app's federated identity credentials
  (issuer, subject, audience) and be signed by that issuer: the provider can verify two,
  its own issuer (managed identity tokens) and its workload issuer (``testing.workload``).

Two of them in one request are refused. A client assertion joins ``issued_secrets()``
as it arrives and is never recorded. Entra documents no replay check (and MSAL reuses a
certificate assertion for minutes): a ``jti`` seen before is refused only with
``refuse_reused_assertions``, and only for the assertions the client signs itself.

Each error's AADSTS code is Entra's, from "Microsoft Entra authentication and authorization
error codes" (https://learn.microsoft.com/entra/identity-platform/reference-error-codes);
the certificate rules from https://learn.microsoft.com/entra/identity-platform/certificate-credentials.
"""

from __future__ import annotations

import base64
import hmac
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.wrappers import Request

from .certificates import header_thumbprints
from .context import Context
from .entra import missing_parameter, unknown_client
from .records import FederatedCredential, OAuthError, RegisteredClient

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Seconds of clock skew allowed either side of exp and nbf (Entra allows about 5 minutes).
CLOCK_SKEW = 300
CERTIFICATE_ALGORITHMS = ("RS256", "PS256")
DOCS = (
    "Review the documentation at "
    "https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."
)


def authenticate_client(ctx: Context, request: Request, tenant: str | None) -> RegisteredClient:
    """The registered client the request authenticates as, or an ``OAuthError``."""
    form = request.form
    assertion = form.get("client_assertion")
    if assertion:
        ctx.state.remember_issued(assertion)  # for a test's log scan, never recorded
    basic_id = basic_secret = None
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        basic_id = unquote_plus(auth.username or "")
        basic_secret = unquote_plus(auth.password or "")
    client_id = form.get("client_id") or basic_id
    if not client_id:
        raise missing_parameter("client_id")
    client = ctx.state.client(client_id)
    if client is None:
        raise unknown_client(client_id)
    secret = (basic_secret if basic_id == client_id else None) or form.get("client_secret")
    if secret and (assertion or form.get("client_assertion_type")):
        # AADSTS9002313: a malformed request (reference-error-codes).
        raise OAuthError(
            "invalid_request",
            "AADSTS9002313: Invalid request. Request is malformed or invalid: send either "
            "'client_secret' or 'client_assertion', not both.",
        )
    if assertion:
        _check_assertion(ctx, client, form, assertion, tenant)
    elif secret:
        _check_secret(client, secret)
    else:
        # AADSTS7000218: no client credential (reference-error-codes).
        raise invalid_client(
            "AADSTS7000218: The request body must contain the following parameter: "
            "'client_assertion' or 'client_secret'.",
        )
    return client


def _check_secret(client: RegisteredClient, secret: str) -> None:
    expected = client.client_secret
    if expected is None or not hmac.compare_digest(secret.encode(), expected.encode()):
        # AADSTS7000215: invalid client secret (reference-error-codes), also what an app
        # registered without a secret gets for sending one.
        raise invalid_client(
            f"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent "
            f"in the request is the client secret value, not the client secret ID, for a "
            f"secret added to app '{client.client_id}'.",
        )


def _check_assertion(
    ctx: Context,
    client: RegisteredClient,
    form: Mapping[str, str],
    assertion: str,
    tenant: str | None,
) -> None:
    assertion_type = form.get("client_assertion_type")
    if not assertion_type:
        raise missing_parameter("client_assertion_type")
    if assertion_type != JWT_BEARER:
        # AADSTS9002313: a malformed request (reference-error-codes).
        raise OAuthError(
            "invalid_request",
            f"AADSTS9002313: Invalid request. Request is malformed or invalid: "
            f"client_assertion_type must be '{JWT_BEARER}'.",
        )
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise _malformed("the assertion is not a signed JWT") from None
    if "x5t" in header or "x5t#S256" in header:
        _check_certificate_assertion(ctx, client, header, assertion, claims, tenant)
    elif claims.get("iss") != client.client_id:
        _check_federated_token(ctx, client, header, assertion, claims)
    else:
        raise _malformed("the header names no certificate: x5t or x5t#S256")


def _check_certificate_assertion(
    ctx: Context,
    client: RegisteredClient,
    header: Mapping[str, Any],
    assertion: str,
    claims: Mapping[str, Any],
    tenant: str | None,
) -> None:
    if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
        # AADSTS700021: iss/sub vs client_id (reference-error-codes).
        raise invalid_client(
            f"AADSTS700021: Client assertion application identifier doesn't match "
            f"'client_id' parameter. {DOCS}",
        )
    certificate = _registered_certificate(client, header)
    algorithm = header.get("alg")
    if algorithm not in CERTIFICATE_ALGORITHMS:
        raise _malformed(f"the algorithm {algorithm!r} is not RS256 or PS256")
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise _malformed("the certificate's key is not an RSA key")
    _verify_signature(assertion, public_key, str(algorithm))
    _check_time(claims)
    if not _audience_matches(claims.get("aud"), _token_audiences(ctx, tenant)):
        # AADSTS700023: audience vs the token endpoint (reference-error-codes).
        raise invalid_client(
            f"AADSTS700023: Client assertion audience claim does not match Realm issuer. {DOCS}",
        )
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise _malformed("the assertion has no jti")
    with ctx.state.lock:
        seen = (client.client_id, jti) in ctx.state.assertion_ids
        if seen and ctx.state.refuse_reused_assertions:
            raise _malformed(
                "the assertion's jti was used before and this provider refuses reused "
                "assertions (refuse_reused_assertions)"
            )
        ctx.state.assertion_ids.add((client.client_id, jti))


def _registered_certificate(
    client: RegisteredClient, header: Mapping[str, Any]
) -> x509.Certificate:
    named = {name: header.get(name) for name in ("x5t", "x5t#S256") if header.get(name)}
    for certificate in client.certificates:
        thumbprints = header_thumbprints(certificate)
        # MSAL pads its base64url thumbprints with "=" (RFC 7515 says not to); Entra
        # takes both.
        if any(thumbprints[name] == str(value).rstrip("=") for name, value in named.items()):
            now = datetime.now(UTC)
            if now > certificate.not_valid_after_utc:
                raise _key_refused(client, named, "The key used is expired.")
            if now < certificate.not_valid_before_utc:
                raise _key_refused(client, named, "The key used is not yet valid.")
            return certificate
    raise _key_refused(client, named, "The key was not found.")


def _key_refused(client: RegisteredClient, named: Mapping[str, Any], reason: str) -> OAuthError:
    value = str(named.get("x5t#S256") or named.get("x5t") or "").rstrip("=")
    try:
        thumbprint = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex().upper()
    except ValueError:
        thumbprint = value
    # AADSTS700027: the signing certificate is not a valid key of the app
    # (reference-error-codes).
    return invalid_client(
        f"AADSTS700027: The certificate with identifier used to sign the client assertion "
        f"is not registered on application. [Reason - {reason}, Thumbprint of key used by "
        f"client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly "
        f"use MS Graph to see configured keys for app Id '{client.client_id}'.]",
    )


def _check_federated_token(
    ctx: Context,
    client: RegisteredClient,
    header: Mapping[str, Any],
    assertion: str,
    claims: Mapping[str, Any],
) -> None:
    issuer, subject = claims.get("iss"), claims.get("sub")
    audiences = _as_list(claims.get("aud"))
    candidates = [c for c in client.federated_credentials if c.issuer == issuer]
    if not candidates:
        # AADSTS700211: no federated credential of that issuer (reference-error-codes).
        raise invalid_client(
            f"AADSTS700211: No matching federated identity record found for presented "
            f"assertion issuer '{issuer}'. Please note that the matching is done using a "
            f"case-sensitive comparison. Check your federated identity credential Subject, "
            f"Audience and Issuer against the presented assertion.",
        )
    credential = next(
        (c for c in candidates if c.subject == subject and c.audience in audiences), None
    )
    if credential is None:
        # AADSTS70021: no federated credential matches (reference-error-codes).
        raise invalid_client(
            f"AADSTS70021: No matching federated identity record found for presented "
            f"assertion. Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. "
            f"Assertion Audience: '{','.join(map(str, audiences))}'.",
        )
    public_key = _issuer_key(ctx, credential)
    if public_key is None:
        raise _signature_failed(
            f"the keys of the issuer '{issuer}' cannot be fetched: this provider verifies "
            f"its own tokens and its workload issuer's only"
        )
    if header.get("alg") != "RS256":
        raise _malformed(f"the algorithm {header.get('alg')!r} is not its issuer's RS256")
    _verify_signature(assertion, public_key, "RS256")
    _check_time(claims)


def _issuer_key(ctx: Context, credential: FederatedCredential) -> rsa.RSAPublicKey | None:
    if credential.issuer == ctx.workload_issuer:
        return ctx.keys.workload_key.public_key()
    if credential.issuer == ctx.issuer:
        return ctx.keys.public_key
    return None


def _verify_signature(assertion: str, key: rsa.RSAPublicKey, algorithm: str) -> None:
    """The signature only: the claims are checked apart, for Entra's messages."""
    try:
        jwt.decode(
            assertion,
            key,
            algorithms=[algorithm],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                     "verify_aud": False, "verify_iss": False},
        )  # fmt: skip
    except jwt.InvalidTokenError:
        raise _signature_failed() from None


def _check_time(claims: Mapping[str, Any]) -> None:
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, int | float) or isinstance(exp, bool) or not _is_time(nbf):
        raise _malformed("exp is missing or not a number, or nbf is not a number")
    now = time.time()
    if now > exp + CLOCK_SKEW or (nbf is not None and now < float(nbf) - CLOCK_SKEW):
        valid_from = f"assertion valid from {_iso(nbf)}, " if nbf is not None else ""
        # AADSTS700024: outside exp/nbf (reference-error-codes).
        raise invalid_client(
            f"AADSTS700024: Client assertion is not within its valid time range. Current "
            f"time: {_iso(now)}, {valid_from}expiry time of assertion {_iso(exp)}. {DOCS}",
        )


def _token_audiences(ctx: Context, tenant: str | None) -> set[str]:
    """What a certificate assertion's ``aud`` may be: the token endpoint MSAL names
    (``<authority>/oauth2/v2.0/token``), its v1 form, or the tenant's v2 issuer."""
    audiences = set()
    for name in {ctx.tenant_id, tenant or ctx.tenant_id}:
        base = f"{ctx.base_url}/{name}"
        audiences |= {f"{base}/oauth2/v2.0/token", f"{base}/oauth2/token", f"{base}/v2.0"}
    return {audience.lower() for audience in audiences}


def _audience_matches(aud: Any, accepted: set[str]) -> bool:
    return any(
        isinstance(value, str) and value.rstrip("/").lower() in accepted for value in _as_list(aud)
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _is_time(value: Any) -> bool:
    """None (absent) or a number of seconds."""
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _iso(value: Any) -> str:
    return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _malformed(reason: str) -> OAuthError:
    # AADSTS50027: invalid or malformed JWT (reference-error-codes).
    return invalid_client(
        f"AADSTS50027: JWT token is invalid or malformed. [Reason - {reason}.]",
    )


def _signature_failed(reason: str = "") -> OAuthError:
    detail = f" [Reason - {reason}.]" if reason else ""
    # AADSTS700027: the client assertion's signature (reference-error-codes).
    return invalid_client(
        f"AADSTS700027: Client assertion failed signature validation.{detail} {DOCS}",
    )


def invalid_client(message: str) -> OAuthError:
    """Entra's answer to a client that did not authenticate: ``invalid_client``, 401."""
    return OAuthError("invalid_client", message, status=401)
