"""The Graph-like protected API: ``/v1.0/me``, ``/v1.0/users/{id | userPrincipalName}``
and ``/v1.0/me/transitiveMemberOf``. What a resource server does with the provider's
access tokens, and how Graph answers one it cannot accept (``odata.py``: the wire
format; ``events.py``: the CAE challenge to a ``cp1`` token)."""

from __future__ import annotations

from typing import Any

import jwt
from werkzeug.wrappers import Request, Response

from ..context import Context
from ..entra import GRAPH_RESOURCE, MEMBERSHIP_SCOPES
from ..events import cae_challenge
from ..odata import (
    GraphError,
    bad_request,
    forbidden,
    not_found,
    unauthorized,
    user_entity,
)
from ..records import TestUser
from ..web import json_response

USERS_PATH = "/v1.0/users/"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 999
# Permissions for GET /users/{id} (learn.microsoft.com/graph/api/user-get#permissions).
ANY_USER_SCOPES = frozenset(
    {
        "User.ReadBasic.All",
        "User.Read.All",
        "User.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    }
)
SELF_SCOPES = frozenset({"User.Read", "User.ReadWrite"})
APP_ROLES = frozenset(
    {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
)


def handle_me(ctx: Context, request: Request, tenant: str | None) -> Response:
    """The signed-in user (any resource's delegated token: the provider's one protected
    API), with ``scopes``, the token's ``scp``, beside Graph's properties unless
    ``$select`` picks them."""
    try:
        claims = _access_token(ctx, request)
        if "scp" not in claims:  # Graph's answer to an app-only token
            raise bad_request("/me request is only valid with delegated authentication flow.")
        user = _signed_in_user(ctx, claims)
        body = user_entity(ctx.base_url, user, request, enabled=_enabled(ctx, user))
    except GraphError as exc:
        return exc.response(request)
    if "$select" not in request.args:
        body["scopes"] = str(claims["scp"]).split()
    return json_response(body)


def handle_user(ctx: Context, request: Request, tenant: str | None) -> Response:
    """A user by object id or user principal name: to an app with one of ``APP_ROLES``,
    to a user's delegated token with ``User.Read`` (themselves) or ``ANY_USER_SCOPES``."""
    key = request.path.removeprefix(USERS_PATH).strip("/")  # the route's <user>, decoded
    try:
        claims = _access_token(ctx, request)
        if claims.get("aud") != GRAPH_RESOURCE:
            raise unauthorized("Invalid audience.", _challenge(ctx, "invalid_token"))
        user = _find_user(ctx, key)
        caller = _signed_in_user(ctx, claims) if "scp" in claims else None
        if not _may_read(claims, caller, user):
            raise forbidden()
        if user is None:
            raise not_found(key)
        return json_response(user_entity(ctx.base_url, user, request, enabled=_enabled(ctx, user)))
    except GraphError as exc:
        return exc.response(request)


def handle_member_of(ctx: Context, request: Request, tenant: str | None) -> Response:
    """The user's groups, ``$top`` a page (100 by default, 999 at most), linked by
    ``@odata.nextLink`` with a ``$skiptoken``; 403 without a membership permission."""
    try:
        claims = _access_token(ctx, request)
        if "scp" not in claims:
            raise bad_request("/me request is only valid with delegated authentication flow.")
        user = _signed_in_user(ctx, claims)
        if claims.get("aud") != GRAPH_RESOURCE or not MEMBERSHIP_SCOPES & _scopes(claims):
            raise forbidden()
        try:
            top = min(max(int(request.args.get("$top", DEFAULT_PAGE_SIZE)), 1), MAX_PAGE_SIZE)
            start = max(int(request.args.get("$skiptoken", 0)), 0)
        except ValueError:
            raise bad_request("Invalid $top or $skiptoken.") from None
    except GraphError as exc:
        return exc.response(request)
    state = ctx.state
    if state.graph_raw_body is not None:
        return Response(state.graph_raw_body, status=200, mimetype="application/json")
    page = user.groups[start : start + top]
    body: dict[str, Any] = {
        "@odata.context": f"{ctx.base_url}/v1.0/$metadata#directoryObjects(id)",
        "value": [{"@odata.type": "#microsoft.graph.group", "id": g} for g in page],
    }
    if state.graph_next_link is not None:
        body["@odata.nextLink"] = state.graph_next_link
    elif start + top < len(user.groups):
        body["@odata.nextLink"] = (
            f"{ctx.base_url}/v1.0/me/transitiveMemberOf?$select=id&$top={top}"
            f"&$skiptoken={start + top}"
        )
    return json_response(body)


def _access_token(ctx: Context, request: Request) -> dict[str, Any]:
    """The claims of the request's bearer token: one this provider signed, a user's
    (``scp``) or an app's (``idtyp`` ``app``) access token."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("Access token is empty.", _challenge(ctx))
    try:
        claims = ctx.keys.verify(token.strip(), issuer=ctx.issuer)
        if "scp" not in claims and claims.get("idtyp") != "app":
            raise jwt.InvalidTokenError("not an access token")
    except jwt.InvalidTokenError as exc:
        message = str(exc) or "The token is not valid."
        raise unauthorized(
            message,
            _challenge(ctx, "invalid_token")
            + f', error_description="{message.replace(chr(34), chr(39))}"',
        ) from None
    return claims


def _signed_in_user(ctx: Context, claims: dict[str, Any]) -> TestUser:
    """The user of a delegated token, or a 401: an unknown user, or a CAE challenge."""
    users = ctx.state.copy_users().values()
    user = next((u for u in users if u.oid == claims.get("oid")), None)
    if user is None:
        message = "The token's user does not exist."
        raise unauthorized(message, _challenge(ctx, "invalid_token"))
    challenge = cae_challenge(ctx.state, user.username, claims)
    if challenge is not None:  # a cp1 token issued before the account's latest event
        raise unauthorized(
            "Continuous access evaluation resulted in challenge with result: "
            "InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp",
            challenge,
        )
    return user


def _find_user(ctx: Context, key: str) -> TestUser | None:
    key = key.lower()
    users = ctx.state.copy_users().values()
    return next((u for u in users if key in (u.oid, u.preferred_username.lower())), None)


def _may_read(claims: dict[str, Any], caller: TestUser | None, user: TestUser | None) -> bool:
    if caller is None:  # an app-only token
        return bool(APP_ROLES & set(claims.get("roles") or ()))
    scopes = _scopes(claims)
    return bool(ANY_USER_SCOPES & scopes) or (bool(SELF_SCOPES & scopes) and user == caller)


def _scopes(claims: dict[str, Any]) -> set[str]:
    return set(str(claims.get("scp", "")).split())


def _enabled(ctx: Context, user: TestUser) -> bool:
    with ctx.state.lock:
        return user.username not in ctx.state.disabled


def _challenge(ctx: Context, error: str | None = None) -> str:
    value = (
        f'Bearer realm="{ctx.base_url}", authorization_uri="{ctx.authority}/oauth2/v2.0/authorize"'
    )
    return f'{value}, error="{error}"' if error else value
