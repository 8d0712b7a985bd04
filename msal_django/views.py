"""Sign-in and sign-out views: MSAL does the protocol, these do the Django side."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from . import client
from .conf import msal_settings
from .exceptions import ProviderError, StoreUnavailable
from .logout import SESSION_ACCOUNT_KEY, SESSION_SID_KEY
from .stores import AccountInfo, get_store

logger = logging.getLogger("msal_django")

FLOWS_KEY = "_msal_django_flows"
_PROMPTS = frozenset({"login", "select_account", "consent", "none"})


def error_page(
    request: HttpRequest, status: int, title: str, message: str, error: str = ""
) -> HttpResponse:
    response = render(
        request,
        "msal_django/error.html",
        {"title": title, "message": message, "error": error, "status": status},
        status=status,
    )
    if status == 503:
        response["Retry-After"] = "30"
    return response


def safe_next(request: HttpRequest, candidate: str | None, default: str) -> str:
    """``candidate`` if it stays on this site, else ``default`` (no open redirects)."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(default)


def redirect_uri(request: HttpRequest) -> str:
    return msal_settings.REDIRECT_URI or request.build_absolute_uri(reverse("msal_django:callback"))


@never_cache
@require_GET
def login(request: HttpRequest) -> HttpResponse:
    """Start MSAL's auth code flow (PKCE, state, nonce) and send the browser to the provider.

    Query parameters: ``next`` (a page on this site), ``scopes`` (extra scopes, space
    separated, as ``InteractionRequiredMiddleware`` asks), ``prompt``.
    """
    next_url = safe_next(request, request.GET.get("next"), settings.LOGIN_REDIRECT_URL)
    scopes = list(dict.fromkeys(msal_settings.SCOPES + request.GET.get("scopes", "").split()))
    options: dict[str, Any] = {}
    if request.GET.get("prompt") in _PROMPTS:
        options["prompt"] = request.GET["prompt"]
    if request.user.is_authenticated:
        # Asking for more scopes: stay with the account already signed in.
        username = getattr(request.user, "email", "") or request.user.get_username()
        options["login_hint"] = username
    try:
        flow = client.get_app().initiate_auth_code_flow(
            scopes, redirect_uri=redirect_uri(request), **options
        )
    except ProviderError as exc:
        logger.warning("Sign-in could not start: %s", exc)
        return error_page(
            request,
            503,
            "Sign-in is unavailable",
            "The identity provider could not be reached. Please try again in a moment.",
        )
    flows: dict[str, Any] = request.session.get(FLOWS_KEY) or {}
    flows[flow["state"]] = {"flow": flow, "next": next_url}
    # Keep only the newest few (several tabs may sign in at once); each is single-use.
    request.session[FLOWS_KEY] = dict(list(flows.items())[-msal_settings.MAX_PENDING_SIGN_INS :])
    return HttpResponseRedirect(flow["auth_uri"])


@never_cache
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """Finish the flow: exchange the code, sign the user in, store their tokens."""
    state = request.GET.get("state", "")
    flows: dict[str, Any] = request.session.get(FLOWS_KEY) or {}
    pending = flows.pop(state, None) if state else None
    if pending is None:
        return error_page(
            request,
            400,
            "This sign-in link is not valid",
            "It has expired, was already used, or was not started in this browser. "
            "Please sign in again.",
            "invalid_state",
        )
    request.session[FLOWS_KEY] = flows  # single use, even if what follows fails
    if "error" in request.GET:
        error = request.GET["error"][:100]
        logger.info("The identity provider returned an error to the callback: %s", error)
        title = "Sign-in was cancelled" if error == "access_denied" else "Sign-in failed"
        return error_page(
            request, 400, title, request.GET.get("error_description", "")[:500], error
        )
    try:
        result = _redeem(pending["flow"], request.GET.dict())
    except ProviderError:
        return error_page(
            request,
            503,
            "Sign-in is unavailable",
            "The identity provider could not be reached. Please try again in a moment.",
        )
    if "error" in result:
        logger.warning("Sign-in failed at the token endpoint: %s", result["error"])
        return error_page(
            request,
            400,
            "Sign-in failed",
            "The sign-in could not be completed. Please sign in again.",
            str(result["error"]),
        )
    claims: dict[str, Any] = result["claims"]
    user = authenticate(request, msal_claims=claims)
    if user is None:
        return error_page(
            request, 403, "No access", "Your account is not allowed to sign in to this site."
        )
    home_account_id = result["home_account_id"]
    info = AccountInfo(
        username=str(claims.get("preferred_username", "")), tenant_id=str(claims.get("tid", ""))
    )
    try:
        get_store().replace(home_account_id, result["state"], user, info)
    except StoreUnavailable:
        return error_page(request, 503, "Sign-in is unavailable", "Please try again in a moment.")
    auth_login(request, user, backend="msal_django.backends.MsalBackend")
    request.session[SESSION_ACCOUNT_KEY] = home_account_id
    request.session[SESSION_SID_KEY] = claims.get("sid")
    return HttpResponseRedirect(pending["next"])


def _redeem(flow: dict[str, Any], response: dict[str, str]) -> dict[str, Any]:
    """Exchange the code with this thread's MSAL app, on an empty cache of its own."""
    app = client.get_app()
    cache = app.token_cache
    cache.deserialize(None)
    try:
        try:
            result = app.acquire_token_by_auth_code_flow(flow, response)
        except ValueError as exc:  # MSAL: the response does not match the flow (state)
            return {"error": "invalid_state", "detail": type(exc).__name__}
        except client.TRANSIENT_ERRORS as exc:
            raise ProviderError(type(exc).__name__, transient=True) from exc
        if "error" in result:
            return {"error": result["error"]}
        accounts = app.get_accounts()
        if len(accounts) != 1:
            return {"error": "no_account"}
        return {
            "claims": result.get("id_token_claims") or {},
            "home_account_id": accounts[0]["home_account_id"],
            "state": cache.serialize(),
        }
    finally:
        cache.deserialize(None)


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def logout(request: HttpRequest) -> HttpResponse:
    """GET: a confirmation page. POST: sign out here, then at the provider."""
    if request.method == "GET":
        return render(request, "msal_django/logout.html", {})
    signed_in_with_msal = bool(request.session.get(SESSION_ACCOUNT_KEY))
    auth_logout(request)  # user_logged_out removes the account's tokens
    local = request.build_absolute_uri(
        msal_settings.POST_LOGOUT_REDIRECT_URI or resolve_url(settings.LOGOUT_REDIRECT_URL or "/")
    )
    if not (signed_in_with_msal and msal_settings.PROVIDER_LOGOUT):
        return HttpResponseRedirect(local)
    try:
        end_session = client.discovery_document().get("end_session_endpoint")
    except ProviderError as exc:
        logger.warning("Signed out here only: %s", exc)
        end_session = None
    if not end_session:
        return HttpResponseRedirect(local)
    query = urlencode({"post_logout_redirect_uri": local, "client_id": msal_settings.CLIENT_ID})
    separator = "&" if "?" in end_session else "?"
    return HttpResponseRedirect(f"{end_session}{separator}{query}")
