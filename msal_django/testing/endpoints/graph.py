"""The Graph-like protected API (``/v1.0/me``): what a resource server does with the
provider's access tokens, and how it answers one it cannot accept."""

from __future__ import annotations

from typing import Any

import jwt
from werkzeug.wrappers import Request, Response

from ..context import Context
from ..records import TestUser
from ..web import json_response


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
    return user, claims
