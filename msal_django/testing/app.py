"""The provider as a WSGI app: the route table, and what every request to an endpoint
goes through (recording, injected failures, the tenant check, Entra-style errors).

Adding an endpoint: a ``handle_x(ctx, request, tenant)`` in ``endpoints/`` and a row in
``ROUTES``; its name is then one ``inject()`` and ``count()`` accept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import pages
from .context import Context
from .endpoints.authorize import error_redirect, handle_authorize
from .endpoints.discovery import handle_discovery, handle_index, handle_jwks
from .endpoints.graph import USERS_PATH, handle_me, handle_member_of, handle_user
from .endpoints.identities import (
    handle_managed_identity,
    handle_workload_discovery,
    handle_workload_jwks,
)
from .endpoints.logout import handle_logout
from .endpoints.token import handle_token
from .endpoints.users import handle_user_action, handle_users
from .entra import check_tenant, error_body, injected_error
from .records import InjectedFailure, OAuthError, RecordedRequest
from .web import html, json_response
from .workload import JWKS_PATH

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

Handler = Callable[[Context, Request, str | None], Response]


@dataclass(frozen=True)
class Route:
    endpoint: str  # the name requests are recorded, counted and failed under
    methods: str  # space-separated
    path: str
    handler: Handler
    page: bool = False  # a browser's endpoint: its errors are pages


ROUTES = (
    Route("discovery", "GET", "/<tenant>/v2.0/.well-known/openid-configuration", handle_discovery),
    Route("jwks", "GET", "/<tenant>/discovery/v2.0/keys", handle_jwks),
    Route("authorize", "GET POST", "/<tenant>/oauth2/v2.0/authorize", handle_authorize, page=True),
    Route("token", "POST", "/<tenant>/oauth2/v2.0/token", handle_token),
    Route("logout", "GET POST", "/<tenant>/oauth2/v2.0/logout", handle_logout, page=True),
    Route("api", "GET", "/v1.0/me", handle_me),
    Route("graph_groups", "GET", "/v1.0/me/transitiveMemberOf", handle_member_of),
    Route("graph_user", "GET", USERS_PATH + "<user>", handle_user),
    Route("managed_identity", "GET", "/msi/token", handle_managed_identity),
    Route(
        "workload_discovery",
        "GET",
        "/workload-issuer/.well-known/openid-configuration",
        handle_workload_discovery,
    ),
    Route("workload_jwks", "GET", "/workload-issuer" + JWKS_PATH, handle_workload_jwks),
    Route("users", "GET", "/users/", handle_users, page=True),
    Route("user_action", "POST", "/users/<username>/", handle_user_action, page=True),
)
ENDPOINTS = tuple(dict.fromkeys(route.endpoint for route in ROUTES))
# Not an endpoint: never recorded, never failed.
INDEX = Route("index", "GET", "/", handle_index)

_URL_MAP = Map(
    [Rule(r.path, endpoint=r, methods=r.methods.split()) for r in (INDEX, *ROUTES)],
    strict_slashes=False,
)


def serve(ctx: Context, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    request = Request(environ)
    response = dispatch(ctx, request)
    return response(environ, start_response)


def dispatch(ctx: Context, request: Request) -> Response:
    adapter = _URL_MAP.bind_to_environ(request.environ)
    try:
        route, args = adapter.match()
    except HTTPException as exc:
        # Recorded too: a test can tell that a client was led off the provider's routes.
        _record(ctx, "not_found", request)
        return exc.get_response(request.environ)
    assert isinstance(route, Route)
    tenant: str | None = args.get("tenant")
    if route is INDEX:
        return route.handler(ctx, request, tenant)
    _record(ctx, route.endpoint, request)
    try:
        failure = ctx.state.take_failure(route.endpoint)
        if failure is not None:
            if failure.delay:
                time.sleep(failure.delay)
            if failure.error is not None or failure.status >= 400:
                return _failure_response(ctx, route.endpoint, failure, request)
        if tenant is not None:
            check_tenant(tenant, ctx.tenant_id, page=route.page)
        return route.handler(ctx, request, tenant)
    except OAuthError as exc:
        return _error_response(ctx, exc, request)


def _record(ctx: Context, endpoint: str, request: Request) -> None:
    grant_type = client_id = None
    if endpoint == "token":
        grant_type = request.form.get("grant_type")
        client_id = request.form.get("client_id")
        if client_id is None and request.authorization is not None:
            client_id = unquote_plus(request.authorization.username or "") or None
    elif endpoint == "authorize" and "request_id" in request.form:
        pending = ctx.state.pending_request(request.form["request_id"])
        client_id = pending.client_id if pending else None
    elif endpoint in ("authorize", "logout", "managed_identity"):
        client_id = request.values.get("client_id")
    ctx.state.record(
        RecordedRequest(endpoint, request.method, request.path, grant_type, client_id, time.time())
    )


def _failure_response(
    ctx: Context, endpoint: str, failure: InjectedFailure, request: Request
) -> Response:
    if failure.error is None:
        response = Response(
            f"{failure.status} injected failure", status=failure.status, mimetype="text/plain"
        )
    else:
        exc = injected_error(endpoint, failure)
        # On authorize, Entra sends an error back to the client, as long as it can.
        redirect = (
            error_redirect(ctx, request, exc)
            if (endpoint == "authorize" and failure.status < 500)
            else None
        )
        response = redirect or _error_response(ctx, exc, request)
    if failure.retry_after is not None:
        response.headers["Retry-After"] = str(failure.retry_after)
    return response


def _error_response(ctx: Context, exc: OAuthError, request: Request) -> Response:
    if exc.page:
        title = "Sign in failed" if "authorize" in request.path else "Sign out failed"
        return html(pages.error_page(title, exc.error, exc.description), exc.status)
    body = error_body(exc, request.headers.get("client-request-id"), ctx.base_url)
    response = json_response(body, exc.status)
    if "/v1.0/" in request.path and exc.status == 401:
        response.headers["WWW-Authenticate"] = f'Bearer error="{exc.error}"'
    return response
