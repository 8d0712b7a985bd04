"""The token endpoint: authenticates the client (``client_auth``: a secret, a
certificate or a federated token, whatever the grant), then hands the request to the grant
its ``grant_type`` names (``GRANTS``); each grant checks what it redeems and asks
``minting`` for the tokens."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from werkzeug.wrappers import Request, Response

from ..client_auth import authenticate_client
from ..context import Context
from ..entra import (
    OIDC_SCOPES,
    missing_consent,
    missing_parameter,
    parse_scopes,
    split_scope,
)
from ..events import claims_request, refuse_if_disabled, revocation_message
from ..minting import app_access_token, b64url, issue_tokens
from ..records import OAuthError, RegisteredClient
from ..web import json_response

# A grant: the client (authenticated) and the request's form -> the token response.
GrantHandler = Callable[[Context, RegisteredClient, Mapping[str, str]], dict[str, Any]]


def handle_token(ctx: Context, request: Request, tenant: str | None) -> Response:
    client = authenticate_client(ctx, request, tenant)
    grant_type = request.form.get("grant_type")
    if not grant_type:
        raise missing_parameter("grant_type")
    grant = GRANTS.get(grant_type)
    if grant is None:
        raise OAuthError(
            "unsupported_grant_type",
            f"AADSTS70003: The app requested an unsupported grant type '{grant_type}'.",
        )
    return json_response(grant(ctx, client, request.form))


def redeem_code(ctx: Context, client: RegisteredClient, form: Mapping[str, str]) -> dict[str, Any]:
    """``authorization_code``: a single-use code, its redirect URI and PKCE verifier."""
    state = ctx.state
    code_value = form.get("code")
    if not code_value:
        raise missing_parameter("code")
    with state.lock:
        code = state.codes.get(code_value)
        if code is None or code.request.client_id != client.client_id:
            raise OAuthError(
                "invalid_grant",
                "AADSTS9002313: Invalid request. Request is malformed or invalid: the "
                "authorization code is not valid for this client.",
            )
        if code.redeemed:
            # A replayed code may be a stolen one: revoke what the first use issued.
            for token in code.refresh_tokens:
                state.refresh_tokens[token].revoked = True
            raise OAuthError(
                "invalid_grant",
                "AADSTS54005: OAuth2 Authorization code was already redeemed, please "
                "retry with a new valid code or use an existing refresh token.",
            )
        code.redeemed = True  # Single use, whatever the outcome.
    if code.expires_at < time.time():
        raise OAuthError(
            "invalid_grant",
            "AADSTS70008: The provided authorization code or refresh token has expired "
            "due to inactivity.",
        )
    if form.get("redirect_uri") != code.request.redirect_uri:
        raise OAuthError(
            "invalid_grant",
            "AADSTS50011: The redirect URI specified in the request does not match the "
            "redirect URI used to request the authorization code.",
        )
    verifier = form.get("code_verifier", "")
    challenge = b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
    if not verifier or not hmac.compare_digest(challenge, code.request.code_challenge):
        raise OAuthError(
            "invalid_grant",
            "AADSTS50148: The code_verifier does not match the code_challenge supplied in "
            "the authorization request for PKCE.",
        )
    refuse_if_disabled(state, code.username)
    return issue_tokens(
        ctx,
        client,
        state.user(code.username),
        parse_scopes(form.get("scope")) or code.request.scopes,
        sid=code.sid,
        auth_time=code.auth_time,
        nonce=code.request.nonce,
        code=code,
        claims=claims_request(form.get("claims")),
    )


def redeem_refresh_token(
    ctx: Context, client: RegisteredClient, form: Mapping[str, str]
) -> dict[str, Any]:
    """``refresh_token``: a refresh token of this client, not revoked nor expired."""
    state = ctx.state
    value = form.get("refresh_token")
    if not value:
        raise missing_parameter("refresh_token")
    with state.lock:
        token = state.refresh_tokens.get(value)
        if token is None or token.client_id != client.client_id:
            raise OAuthError(
                "invalid_grant",
                "AADSTS9002313: Invalid request. Request is malformed or invalid: the "
                "refresh token is not valid for this client.",
            )
        refuse_if_disabled(state, token.username)
        if token.revoked:
            raise OAuthError("invalid_grant", revocation_message(token.revocation))
        if token.expires_at < time.time():
            raise OAuthError(
                "invalid_grant",
                "AADSTS700082: The refresh token has expired due to inactivity.",
            )
        if token.used and state.strict_refresh_token_rotation:
            raise OAuthError(
                "invalid_grant",
                "AADSTS70000: The provided value for the 'refresh_token' is not valid: it "
                "was already used and refresh tokens are single-use here.",
            )
        token.used = True
    return issue_tokens(
        ctx,
        client,
        state.user(token.username),
        parse_scopes(form.get("scope")) or token.scopes,
        sid=token.sid,
        auth_time=token.auth_time,
        nonce=None,
        code=None,
        claims=claims_request(form.get("claims")),
    )


def on_behalf_of(ctx: Context, client: RegisteredClient, form: Mapping[str, str]) -> dict[str, Any]:
    """``jwt-bearer`` with ``requested_token_use=on_behalf_of``: a user's access token
    whose audience is the calling app, exchanged for a token to a downstream API."""
    assertion = form.get("assertion")
    if not assertion:
        raise missing_parameter("assertion")
    if form.get("requested_token_use") != "on_behalf_of":
        raise OAuthError(
            "invalid_request",
            "AADSTS70003: The requested_token_use parameter must be 'on_behalf_of' for "
            "this grant type.",
        )
    claims = _verified_assertion(ctx, assertion)
    if claims.get("aud") not in (client.client_id, f"api://{client.client_id}"):
        raise OAuthError(
            "invalid_grant",
            "AADSTS50013: Assertion failed signature validation. [Reason - The "
            "assertion's audience does not match the client app presenting it.]",
        )
    user = next((u for u in ctx.state.copy_users().values() if u.oid == claims.get("oid")), None)
    if "scp" not in claims or user is None:
        raise OAuthError(
            "invalid_grant",
            "AADSTS50034: The assertion is not a user's delegated token; on-behalf-of "
            "needs one (app-only tokens use client credentials).",
        )
    refuse_if_disabled(ctx.state, user.username)
    scopes = parse_scopes(form.get("scope"))
    if not [scope for scope in scopes if scope not in OIDC_SCOPES]:
        raise missing_parameter("scope")
    missing = missing_consent(scopes, ctx.state.granted(user.username, client.client_id))
    if missing:
        raise OAuthError(
            "invalid_grant",
            f"AADSTS65001: The user or administrator has not consented to use the "
            f"application with ID '{client.client_id}' on behalf of the user. Missing: "
            f"{' '.join(missing)}.",
            suberror="consent_required",
        )
    return issue_tokens(
        ctx,
        client,
        user,
        scopes,
        sid=str(claims.get("sid") or ""),
        auth_time=int(claims.get("iat") or 0),
        nonce=None,
        code=None,
        claims=claims_request(form.get("claims")),
    )


def _verified_assertion(ctx: Context, assertion: str) -> dict[str, Any]:
    try:
        return ctx.keys.verify(assertion, issuer=ctx.issuer)
    except jwt.ExpiredSignatureError:
        raise OAuthError(
            "invalid_grant", "AADSTS500133: Assertion is not within its valid time range."
        ) from None
    except jwt.InvalidTokenError:
        pass
    try:  # a v1 access token names the tenant's v1 issuer
        return ctx.keys.verify(assertion, issuer=ctx.authority + "/")
    except jwt.InvalidTokenError:
        raise OAuthError(
            "invalid_grant", "AADSTS50013: Assertion failed signature validation."
        ) from None


def client_credentials(
    ctx: Context, client: RegisteredClient, form: Mapping[str, str]
) -> dict[str, Any]:
    """``client_credentials``: one ``<resource>/.default`` scope; the token's ``roles``
    are the app roles granted to the client on that resource."""
    scopes = parse_scopes(form.get("scope"))
    if not scopes:
        raise missing_parameter("scope")
    if len(scopes) != 1 or not scopes[0].endswith("/.default"):
        raise OAuthError(
            "invalid_scope",
            f"AADSTS1002012: The provided value for scope {' '.join(scopes)} is not valid. "
            "Client credential flows must have a scope value with /.default suffixed to "
            "the resource identifier (application ID URI).",
        )
    resource, _ = split_scope(scopes[0])
    return app_access_token(ctx, client.client_id, resource)


# The grants this provider supports (discovery advertises them), by grant_type.
GRANTS: dict[str, GrantHandler] = {
    "authorization_code": redeem_code,
    "refresh_token": redeem_refresh_token,
    "urn:ietf:params:oauth:grant-type:jwt-bearer": on_behalf_of,
    "client_credentials": client_credentials,
}
