"""The sign-in views: ``login`` starts MSAL's auth code flow, ``callback`` finishes it
(the code redeemed, the claims to a user, the tokens stored). MSAL does the protocol,
these do the Django side."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET

from msal_django import failures, msal_app
from msal_django.conf import msal_settings
from msal_django.constants import (
    FLOWS_KEY,
    MAX_CLAIMS_LENGTH,
    MAX_LOGIN_HINT_LENGTH,
    MAX_NEXT_LENGTH,
    MAX_SCOPES,
    MAX_SCOPES_LENGTH,
    RESERVED_SCOPES,
    SESSION_ACCOUNT_KEY,
    SESSION_LOGIN_HINT_KEY,
    SESSION_SID_KEY,
)
from msal_django.exceptions import ProviderError, StoreUnavailable
from msal_django.failures import failure_page
from msal_django.redact import Secret, loggable
from msal_django.signin import redeem
from msal_django.signin.authorization import SignInRefused
from msal_django.signout import session_index
from msal_django.tokens import session_check

logger = logging.getLogger("msal_django")

_PROMPTS = frozenset({"login", "select_account", "consent", "none"})


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
        flow = msal_app.initiate_auth_code_flow(scopes, redirect_uri(request), **options)
    except ProviderError as exc:
        logger.warning("Sign-in could not start: %s", loggable(exc))
        return failure_page(request, failures.PROVIDER_UNAVAILABLE)
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
    return failure_page(request, failures.INVALID_SIGN_IN_LINK, error=error)


@never_cache
@require_GET
@sensitive_variables()  # codes and tokens: never on an error page or in an error report
def callback(request: HttpRequest) -> HttpResponse:
    """Finish the flow: exchange the code, sign the user in, store their tokens."""
    response_params: dict[str, str] = {k: Secret(v) for k, v in request.GET.items()}
    _hide_code(request)
    pending = _take_pending(request, request.GET.get("state", ""))
    if pending is None:
        return failure_page(request, failures.UNKNOWN_SIGN_IN, error="invalid_state")
    flow, next_url = pending
    if "error" in request.GET:
        error = request.GET["error"][:100]
        logger.info("The identity provider returned an error to the callback: %s", loggable(error))
        cancelled = error == "access_denied"
        failure = failures.SIGN_IN_CANCELLED if cancelled else failures.SIGN_IN_REFUSED
        description = request.GET.get("error_description", "")[:500]
        return failure_page(request, failure, error=error, message=description)
    try:
        redeemed = redeem.redeem(flow, response_params)
    except ProviderError as exc:
        log = logger.warning if exc.transient else logger.error
        log("Sign-in could not finish at the token endpoint: %s", loggable(exc))
        return failure_page(request, failures.PROVIDER_UNAVAILABLE)
    if isinstance(redeemed, redeem.NotRedeemed):
        logger.warning("Sign-in failed at the token endpoint: %s", loggable(redeemed.error))
        return failure_page(request, failures.SIGN_IN_FAILED, error=redeemed.error)
    claims = redeemed.claims
    # The sign-in's tokens, not yet stored: group overage is resolved with them.
    sign_in = redeem.SignInTokens(redeemed.home_account_id, redeemed.state)
    try:
        user = authenticate(request, msal_claims=claims, msal_sign_in=sign_in)
    except SignInRefused as exc:  # tenant not allowed, groups unreadable: nothing stored
        refused = failures.Failure(exc.status, exc.title, exc.message)
        return failure_page(request, refused, error=exc.error)
    if user is None:
        return failure_page(request, failures.NO_ACCESS)
    try:
        # With any token the sign-in's own checks acquired (group overage).
        redeem.store_sign_in(dataclasses.replace(redeemed, state=sign_in.state), user)
    except StoreUnavailable:
        return failure_page(request, failures.STORE_UNAVAILABLE)
    auth_login(request, user)  # with the backend that authenticated (a subclass, perhaps)
    home_account_id = redeemed.home_account_id
    request.session[SESSION_ACCOUNT_KEY] = home_account_id
    request.session[SESSION_SID_KEY] = claims.get("sid")
    # Entra's optional login_hint claim: sent back as logout_hint, it skips the picker.
    login_hint = claims.get("login_hint")
    if isinstance(login_hint, str) and 0 < len(login_hint) <= MAX_LOGIN_HINT_LENGTH:
        request.session[SESSION_LOGIN_HINT_KEY] = login_hint
    # So that a front- or back-channel logout naming this sid finds this session.
    session_index.record_sign_in(request, claims=claims, home_account_id=home_account_id, user=user)
    session_check.signed_in(home_account_id)  # the sign-in proved the account
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
