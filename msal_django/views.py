"""Sign-in and sign-out views: MSAL does the protocol, these do the Django side."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from msal.oauth2cli.oidc import IdTokenError

from . import client, logout_token, sessions
from .authorization import SignInRefused, SignInTokens
from .checks import RESERVED_SCOPES
from .conf import msal_settings
from .exceptions import ProviderError, StoreUnavailable
from .logout import SESSION_ACCOUNT_KEY, SESSION_SID_KEY, remove_account
from .redact import Secret, describe, loggable
from .stores import AccountInfo, get_store

logger = logging.getLogger("msal_django")

FLOWS_KEY = "_msal_django_flows"
SESSION_LOGIN_HINT_KEY = "_msal_django_login_hint"
MAX_LOGIN_HINT_LENGTH = 1024
_PROMPTS = frozenset({"login", "select_account", "consent", "none"})
# Bounds on what a sign-in link may ask for, checked before anything is stored.
MAX_SCOPES = 50
MAX_SCOPES_LENGTH = 2048
MAX_CLAIMS_LENGTH = 4096
MAX_NEXT_LENGTH = 2048  # a longer next is ignored, like one that leaves the site


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
@sensitive_variables()  # the pending flow holds the PKCE verifier
def login(request: HttpRequest) -> HttpResponse:
    """Start MSAL's auth code flow (PKCE, state, nonce) and send the browser to the provider.

    Query parameters: ``next`` (a page on this site), ``scopes`` (extra scopes, space
    separated, as ``InteractionRequiredMiddleware`` asks), ``prompt``, ``claims`` (a
    claims challenge from Conditional Access, passed on to the provider). Each is
    bounded before anything is stored: a refused sign-in leaves the session untouched.
    """
    candidate = request.GET.get("next", "")
    next_url = safe_next(
        request,
        candidate if len(candidate) <= MAX_NEXT_LENGTH else None,
        settings.LOGIN_REDIRECT_URL,
    )
    scopes_param = request.GET.get("scopes", "")
    asked = list(dict.fromkeys(s for s in scopes_param.split() if s not in RESERVED_SCOPES))
    claims = request.GET.get("claims", "")
    if len(scopes_param) > MAX_SCOPES_LENGTH or len(asked) > MAX_SCOPES:
        return _invalid_sign_in_link(request, "invalid_scope")
    if claims and not _is_claims_request(claims):
        return _invalid_sign_in_link(request, "invalid_claims")
    scopes = list(dict.fromkeys(msal_settings.SCOPES + asked))
    options: dict[str, Any] = {}
    if request.GET.get("prompt") in _PROMPTS:
        options["prompt"] = request.GET["prompt"]
    if claims:
        options["claims_challenge"] = claims
    if request.user.is_authenticated:
        # Asking for more scopes: stay with the account already signed in.
        username = getattr(request.user, "email", "") or request.user.get_username()
        options["login_hint"] = username
    try:
        flow = client.get_app().initiate_auth_code_flow(
            scopes, redirect_uri=redirect_uri(request), **options
        )
    except ProviderError as exc:
        logger.warning("Sign-in could not start: %s", loggable(exc))
        return error_page(
            request,
            503,
            "Sign-in is unavailable",
            "The identity provider could not be reached. Please try again in a moment.",
        )
    except ValueError:  # MSAL refuses a malformed claims challenge
        return _invalid_sign_in_link(request, "invalid_claims")
    flows: dict[str, Any] = request.session.get(FLOWS_KEY) or {}
    flows[flow["state"]] = {"flow": flow, "next": next_url}
    # Keep only the newest few (several tabs may sign in at once); each is single-use.
    keep = max(1, msal_settings.MAX_PENDING_SIGN_INS)
    request.session[FLOWS_KEY] = dict(list(flows.items())[-keep:])
    return HttpResponseRedirect(flow["auth_uri"])


def _is_claims_request(claims: str) -> bool:
    """A JSON object of bounded size, as claims challenges are (OpenID Connect 5.5)."""
    if len(claims) > MAX_CLAIMS_LENGTH:
        return False
    try:
        return isinstance(json.loads(claims), dict)
    except (ValueError, RecursionError):
        return False


def _invalid_sign_in_link(request: HttpRequest, error: str) -> HttpResponse:
    return error_page(
        request, 400, "This sign-in link is not valid", "Please sign in again.", error
    )


@never_cache
@require_GET
@sensitive_variables()  # codes and tokens: never on an error page or in an error report
def callback(request: HttpRequest) -> HttpResponse:
    """Finish the flow: exchange the code, sign the user in, store their tokens."""
    response_params: dict[str, str] = {k: Secret(v) for k, v in request.GET.items()}
    _hide_code(request)
    pending = _take_pending(request, request.GET.get("state", ""))
    if pending is None:
        return error_page(
            request,
            400,
            "This sign-in link is not valid",
            "It has expired, was already used, or was not started in this browser. "
            "Please sign in again.",
            "invalid_state",
        )
    flow, next_url = pending
    if "error" in request.GET:
        error = request.GET["error"][:100]
        logger.info("The identity provider returned an error to the callback: %s", loggable(error))
        title = "Sign-in was cancelled" if error == "access_denied" else "Sign-in failed"
        return error_page(
            request, 400, title, request.GET.get("error_description", "")[:500], error
        )
    try:
        result = _redeem(flow, response_params)
    except ProviderError:
        return error_page(
            request,
            503,
            "Sign-in is unavailable",
            "The identity provider could not be reached. Please try again in a moment.",
        )
    if "error" in result:
        logger.warning("Sign-in failed at the token endpoint: %s", loggable(result["error"]))
        return error_page(
            request,
            400,
            "Sign-in failed",
            "The sign-in could not be completed. Please sign in again.",
            str(result["error"]),
        )
    claims: dict[str, Any] = result["claims"]
    # The sign-in's tokens, not yet stored: group overage is resolved with them.
    sign_in = SignInTokens(result["home_account_id"], result["state"])
    try:
        user = authenticate(request, msal_claims=claims, msal_sign_in=sign_in)
    except SignInRefused as exc:  # tenant not allowed, groups unreadable: nothing stored
        return error_page(request, exc.status, exc.title, exc.message, exc.error)
    if user is None:
        return error_page(
            request, 403, "No access", "Your account is not allowed to sign in to this site."
        )
    home_account_id = result["home_account_id"]
    info = AccountInfo(
        username=str(claims.get("preferred_username", "")), tenant_id=str(claims.get("tid", ""))
    )
    try:
        get_store().replace(home_account_id, sign_in.state, user, info)
    except StoreUnavailable:
        return error_page(request, 503, "Sign-in is unavailable", "Please try again in a moment.")
    auth_login(request, user, backend="msal_django.backends.MsalBackend")
    request.session[SESSION_ACCOUNT_KEY] = home_account_id
    request.session[SESSION_SID_KEY] = claims.get("sid")
    # Entra's optional login_hint claim: sent back as logout_hint, it skips the picker.
    login_hint = claims.get("login_hint")
    if isinstance(login_hint, str) and 0 < len(login_hint) <= MAX_LOGIN_HINT_LENGTH:
        request.session[SESSION_LOGIN_HINT_KEY] = login_hint
    # So that a front- or back-channel logout naming this sid finds this session.
    sessions.record_sign_in(request, claims=claims, home_account_id=home_account_id, user=user)
    return HttpResponseRedirect(next_url)


_MASKED_PARAMETERS = ("code", "session_state")


def _take_pending(request: HttpRequest, state: str) -> tuple[dict[str, Any], str] | None:
    """The sign-in ``state`` started (its flow, its ``next``), removed from the session:
    single use, even if what follows fails. Its PKCE verifier comes back as a ``Secret``."""
    flows: dict[str, Any] = request.session.get(FLOWS_KEY) or {}
    pending = flows.pop(state, None) if state else None
    if pending is None:
        return None
    request.session[FLOWS_KEY] = flows
    flow = pending["flow"]
    return {**flow, "code_verifier": Secret(flow["code_verifier"])}, pending["next"]


def _hide_code(request: HttpRequest) -> None:
    """Mask the authorization code (and the provider's ``session_state``) in the request,
    so that no error page or error report (which show the URL and the query) shows them."""
    present = [name for name in _MASKED_PARAMETERS if name in request.GET]
    if not present:
        return
    masked = request.GET.copy()
    for name in present:
        masked[name] = "********"
    request.GET = masked  # type: ignore[assignment]
    request.META["QUERY_STRING"] = masked.urlencode(safe="*")


@sensitive_variables()
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
        except IdTokenError:  # a wrong nonce, audience or issuer in the ID token
            return {"error": "invalid_id_token"}
        except client.TRANSIENT_ERRORS as exc:
            raise ProviderError(describe(exc), transient=True) from None  # code, verifier
        if "error" in result:
            return {"error": result["error"]}
        accounts = app.get_accounts()
        if len(accounts) != 1:
            return {"error": "no_account"}
        return {
            "claims": result.get("id_token_claims") or {},
            "home_account_id": accounts[0]["home_account_id"],
            "state": Secret(cache.serialize()),
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
    logout_hint = request.session.get(SESSION_LOGIN_HINT_KEY)
    try:
        auth_logout(request)  # user_logged_out removes the account's tokens
    except StoreUnavailable as exc:
        logger.error("Logout could not remove the account's tokens: %s", exc)
        request.session.flush()  # signed out here all the same
        return error_page(
            request,
            503,
            "Signed out, but not everywhere",
            "Your session here has ended, but the tokens this site keeps for you could not "
            "be removed because a service is not answering. An administrator can revoke them.",
        )
    local = request.build_absolute_uri(
        msal_settings.POST_LOGOUT_REDIRECT_URI or resolve_url(settings.LOGOUT_REDIRECT_URL or "/")
    )
    if not (signed_in_with_msal and msal_settings.PROVIDER_LOGOUT):
        return HttpResponseRedirect(local)
    try:
        end_session = client.discovery_document().get("end_session_endpoint")
    except ProviderError as exc:
        logger.warning("Signed out here only: %s", loggable(exc))
        end_session = None
    if not end_session:
        return HttpResponseRedirect(local)
    params = {"post_logout_redirect_uri": local, "client_id": msal_settings.CLIENT_ID}
    if logout_hint:
        params["logout_hint"] = logout_hint
    query = urlencode(params)
    separator = "&" if "?" in end_session else "?"
    return HttpResponseRedirect(f"{end_session}{separator}{query}")


# -- logout from elsewhere: front-channel (a hidden iframe) and back-channel (a POST) --------

MAX_LOGOUT_TOKEN_LENGTH = 16 * 1024
_MAX_LOGOUT_BODY = MAX_LOGOUT_TOKEN_LENGTH + 1024


@xframe_options_exempt
@require_GET
def frontchannel_logout(request: HttpRequest) -> HttpResponse:
    """OpenID Connect Front-Channel Logout 1.0, as Entra ID sends it.

    Loaded by the provider's signed-out page in a hidden cross-site iframe, where the
    browser sends no ``SameSite=Lax`` session cookie: the sessions are found by ``sid``
    (``iss``, when present, must be the provider's). Always 200, so the page never shows
    an error; what was not done is logged.
    """
    iss = request.GET.get("iss", "")
    sid = request.GET.get("sid", "")
    if not (logout_token.storable_claim(iss) and logout_token.storable_claim(sid)):
        logger.warning("Front-channel logout ignored: an over-long or unprintable iss or sid.")
    elif iss and not _is_provider_issuer(iss):
        logger.warning("Front-channel logout ignored: iss is not the configured provider.")
    elif sid:
        ended = _end_sessions(reason="frontchannel_logout", sid=sid, issuer=iss or None)
        if ended is not None and not ended.sessions:
            logger.warning("Front-channel logout named a sid with no session here; nothing ended.")
    else:
        _end_this_session(request)
    return _frontchannel_response()


def _is_provider_issuer(iss: str) -> bool:
    try:
        return logout_token.issuer_matches(iss, logout_token.expected_issuer())
    except ProviderError as exc:
        # Sessions are still matched on the issuer recorded at sign-in.
        logger.warning(
            "Front-channel logout: the provider's issuer is unknown (%s).", loggable(exc)
        )
        return True


def _end_sessions(**match: Any) -> sessions.EndedSessions | None:
    try:
        return sessions.end_sessions(**match)
    except (StoreUnavailable, DatabaseError) as exc:
        logger.error("Logout (%s) could not remove tokens: %s", match["reason"], exc)
        return None


def _end_this_session(request: HttpRequest) -> None:
    """No sid: the session cookie, if the browser sent one (a same-site provider's iframe)."""
    if request.headers.get("Sec-Fetch-Site") not in ("same-origin", "same-site"):
        # Only the browser can say the request came from the provider's own site; anything
        # else (a link or an iframe on another site, an old browser) must not log out.
        logger.warning("Front-channel logout without sid ignored: not a same-site request.")
        return
    session_key = request.session.session_key
    home_account_id = request.session.get(SESSION_ACCOUNT_KEY)
    if not (session_key and home_account_id):
        logger.warning("Front-channel logout without sid or session; nothing ended.")
        return
    ended = _end_sessions(reason="frontchannel_logout", session_key=session_key)
    if ended is not None and not ended.accounts:  # signed in before the index existed
        user = request.user if request.user.is_authenticated else None
        try:
            remove_account(home_account_id, user=user, reason="frontchannel_logout")
        except StoreUnavailable as exc:
            logger.error("Logout (frontchannel_logout) could not remove tokens: %s", exc)
    request.session.flush()


def _frontchannel_response() -> HttpResponse:
    response = HttpResponse(
        "<!doctype html><title>Signed out</title>", content_type="text/html; charset=utf-8"
    )
    response["Cache-Control"] = "no-store"
    # Only the provider's signed-out page may frame this.
    response["Content-Security-Policy"] = f"frame-ancestors {_provider_origin()}"
    return response


def _provider_origin() -> str:
    parts = urlsplit(msal_settings.OIDC_AUTHORITY or msal_settings.AUTHORITY or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "'none'"


@csrf_exempt
@sensitive_post_parameters("logout_token")
@require_POST
@sensitive_variables()
def backchannel_logout(request: HttpRequest) -> HttpResponse:
    """OpenID Connect Back-Channel Logout 1.0: the provider POSTs a signed ``logout_token``.

    200 once the sessions it names are ended and their tokens removed; 400 with an OAuth
    error body, having changed nothing, for anything else (section 2.8).
    """
    if request.content_type != "application/x-www-form-urlencoded":
        return _backchannel_error("The body must be application/x-www-form-urlencoded.")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if not 0 <= length <= _MAX_LOGOUT_BODY:
        return _backchannel_error("The body is too large.")
    token = request.POST.get("logout_token", "")
    if not token:
        return _backchannel_error("logout_token is missing.")
    if len(token) > MAX_LOGOUT_TOKEN_LENGTH:
        return _backchannel_error("logout_token is too large.")
    try:
        claims = logout_token.validate(token)
    except logout_token.InvalidLogoutToken as exc:
        logger.warning("Back-channel logout refused: %s", loggable(exc))
        return _backchannel_error(str(exc))
    except ProviderError as exc:
        logger.warning("Back-channel logout could not be checked: %s", loggable(exc))
        return _backchannel_error(
            "The provider's keys could not be loaded; retry.", "temporarily_unavailable"
        )
    ended = _end_sessions(
        reason="backchannel_logout", sid=claims.sid, subject=claims.subject, issuer=claims.issuer
    )
    if ended is None:
        logout_token.forget(claims)  # the provider may retry the same token
        return _backchannel_error(
            "The tokens could not be removed; retry.", "temporarily_unavailable"
        )
    if not ended.sessions:
        logger.info("Back-channel logout named no session here; nothing to end.")
    response = HttpResponse(status=200)
    response["Cache-Control"] = "no-store"
    return response


def _backchannel_error(description: str, error: str = "invalid_request") -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=400)
    response["Cache-Control"] = "no-store"
    return response
