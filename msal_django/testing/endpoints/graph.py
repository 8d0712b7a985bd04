"""The Graph-like protected API (``/v1.0/me`` and ``/v1.0/me/transitiveMemberOf``): what a
resource server does with the provider's access tokens, and how it answers one it
cannot accept."""

from __future__ import annotations

from typing import Any

import jwt
from werkzeug.wrappers import Request, Response

from ..context import Context
from ..entra import GRAPH_RESOURCE, MEMBERSHIP_SCOPES
from ..events import cae_challenge
from ..records import TestUser
from ..web import json_response

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 999


class _Unauthorized(Exception):
    """Graph's 401: an error body and a ``WWW-Authenticate`` challenge."""

    def __init__(self, message: str, challenge: str) -> None:
        super().__init__(message)
        self.response = json_response(
            {"error": {"code": "InvalidAuthenticationToken", "message": message}}, 401
        )
        self.response.headers["WWW-Authenticate"] = challenge


def handle_me(ctx: Context, request: Request, tenant: str | None) -> Response:
    try:
        user, claims = _caller(ctx, request)
    except _Unauthorized as exc:
        return exc.response
    return json_response(
        {
            "@odata.context": f"{ctx.base_url}/v1.0/$metadata#users/$entity",
            "id": user.oid,
            "displayName": user.name,
            "userPrincipalName": user.preferred_username,
            "mail": user.email,
            "scopes": str(claims["scp"]).split(),
        }
    )


def handle_member_of(ctx: Context, request: Request, tenant: str | None) -> Response:
    """The user's groups, ``$top`` a page (100 by default, 999 at most), linked by
    ``@odata.nextLink`` with a ``$skiptoken``; 403 without a membership permission."""
    try:
        user, claims = _caller(ctx, request)
    except _Unauthorized as exc:
        return exc.response
    if claims.get("aud") != GRAPH_RESOURCE or not MEMBERSHIP_SCOPES & set(
        str(claims["scp"]).split()
    ):
        return json_response(
            {
                "error": {
                    "code": "Authorization_RequestDenied",
                    "message": "Insufficient privileges to complete the operation.",
                }
            },
            403,
        )
    state = ctx.state
    if state.graph_raw_body is not None:
        return Response(state.graph_raw_body, status=200, mimetype="application/json")
    try:
        top = min(max(int(request.args.get("$top", DEFAULT_PAGE_SIZE)), 1), MAX_PAGE_SIZE)
        start = max(int(request.args.get("$skiptoken", 0)), 0)
    except ValueError:
        return json_response(
            {"error": {"code": "BadRequest", "message": "Invalid $top or $skiptoken."}}, 400
        )
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


def _caller(ctx: Context, request: Request) -> tuple[TestUser, dict[str, Any]]:
    """The user and access token claims of a request's bearer token."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _Unauthorized(
            "Token missing.",
            f'Bearer realm="{ctx.base_url}", '
            f'authorization_uri="{ctx.authority}/oauth2/v2.0/authorize"',
        )
    try:
        claims = ctx.keys.verify(token.strip(), issuer=ctx.issuer)
        users = ctx.state.copy_users().values()
        user = next(u for u in users if u.oid == claims.get("oid"))
        if "scp" not in claims:
            raise jwt.InvalidTokenError("not an access token")
    except (jwt.InvalidTokenError, StopIteration) as exc:
        message = str(exc) or "The token is not valid."
        raise _Unauthorized(
            message,
            f'Bearer realm="{ctx.base_url}", error="invalid_token", '
            f'error_description="{message.replace(chr(34), chr(39))}"',
        ) from None
    challenge = cae_challenge(ctx.state, user.username, claims)
    if challenge is not None:  # a cp1 token issued before the account's latest event
        raise _Unauthorized(
            "Continuous access evaluation resulted in challenge with result: "
            "InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp",
            challenge,
        )
    return user, claims
