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
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables

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
from msal_django.failures import Failure, failure_page
from msal_django.redact import Secret, loggable
from msal_django.signals import send_signed_in
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


@method_decorator(never_cache, name="dispatch")
class LoginView(View):
    """Start MSAL's auth code flow (PKCE, state, nonce) and send the browser to the provider.

    Query parameters: ``next`` (a page on this site), ``scopes`` (extra scopes, space
    separated, as ``InteractionRequiredMiddleware`` asks), ``prompt``, ``claims`` (a
    claims challenge from Conditional Access, passed on to the provider). Each is
    bounded before anything is stored: a refused sign-in leaves the session untouched.

    Hooks: ``get_scopes``, ``get_auth_params``, ``get_next_url``, ``failure``.
    """

    http_method_names = ["get"]

    def get_scopes(self, request: HttpRequest, asked: list[str]) -> list[str]:
        """The scopes to ask for: :setting:`SCOPES`, then those the link asked for."""
        return list(dict.fromkeys(msal_settings.SCOPES + asked))

    def get_auth_params(self, request: HttpRequest) -> dict[str, Any]:
        """MSAL's ``initiate_auth_code_flow`` options: ``prompt``, ``login_hint``,
        ``domain_hint``, ``max_age``... (``claims_challenge`` is set from the link)."""
        options: dict[str, Any] = {}
        if request.GET.get("prompt") in _PROMPTS:
            options["prompt"] = request.GET["prompt"]
        if request.user.is_authenticated:
            # Asking for more scopes: stay with the account already signed in.
            username = getattr(request.user, "email", "") or request.user.get_username()
            options["login_hint"] = username
        return options

    def get_next_url(self, request: HttpRequest) -> str:
        """Where the browser goes after signing in: ``next`` if it stays on this site,
        else ``LOGIN_REDIRECT_URL``."""
        candidate = request.GET.get("next", "")
        return safe_next(
            request,
            candidate if len(candidate) <= MAX_NEXT_LENGTH else None,
            settings.LOGIN_REDIRECT_URL,
        )

    def failure(self, request: HttpRequest, failure: Failure, **details: str) -> HttpResponse:
        """The page of a sign-in that cannot start (``failure_page``)."""
        return failure_page(request, failure, **details)

    def get(self, request: HttpRequest) -> HttpResponse:
        return _start(self, request)


@sensitive_variables()  # the pending flow holds the PKCE verifier
def _start(view: LoginView, request: HttpRequest) -> HttpResponse:
    next_url = view.get_next_url(request)
    scopes_param = request.GET.get("scopes", "")
    asked = list(dict.fromkeys(s for s in scopes_param.split() if s not in RESERVED_SCOPES))
    claims = request.GET.get("claims", "")
    if len(scopes_param) > MAX_SCOPES_LENGTH or len(asked) > MAX_SCOPES:
        return view.failure(request, failures.INVALID_SIGN_IN_LINK, error="invalid_scope")
    if claims and not _is_claims_request(claims):
        return view.failure(request, failures.INVALID_SIGN_IN_LINK, error="invalid_claims")
    scopes = view.get_scopes(request, asked)
    options = view.get_auth_params(request)
    if claims:
        options["claims_challenge"] = claims
    try:
        flow = msal_app.initiate_auth_code_flow(scopes, redirect_uri(request), **options)
    except ProviderError as exc:
        logger.warning("Sign-in could not start: %s", loggable(exc))
        return view.failure(request, failures.PROVIDER_UNAVAILABLE)
    except ValueError:  # MSAL refuses a malformed claims challenge
        return view.failure(request, failures.INVALID_SIGN_IN_LINK, error="invalid_claims")
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


@method_decorator(never_cache, name="dispatch")
class CallbackView(View):
    """Finish the flow: exchange the code, sign the user in, store their tokens, then
    send ``signed_in``.

    Hooks: ``get_success_url``, ``failure`` (every refused or failed sign-in's page).
    """

    http_method_names = ["get"]

    def get_success_url(self, request: HttpRequest, user: AbstractBaseUser, next_url: str) -> str:
        """Where the signed-in user goes: the ``next`` the sign-in started with."""
        return next_url

    def failure(self, request: HttpRequest, failure: Failure, **details: str) -> HttpResponse:
        """The page of a sign-in that failed or was refused (``failure_page``): the
        failure's ``status``, ``title`` and ``message``; ``details`` are ``error`` (a
        code) and ``message`` (the provider's description)."""
        return failure_page(request, failure, **details)

    def get(self, request: HttpRequest) -> HttpResponse:
        return _finish(self, request)


@sensitive_variables()  # codes and tokens: never on an error page or in an error report
def _finish(view: CallbackView, request: HttpRequest) -> HttpResponse:
    response_params: dict[str, str] = {k: Secret(v) for k, v in request.GET.items()}
    _hide_code(request)
    pending = _take_pending(request, request.GET.get("state", ""))
    if pending is None:
        return view.failure(request, failures.UNKNOWN_SIGN_IN, error="invalid_state")
    flow, next_url = pending
    if "error" in request.GET:
        error = request.GET["error"][:100]
        logger.info("The identity provider returned an error to the callback: %s", loggable(error))
        cancelled = error == "access_denied"
        failure = failures.SIGN_IN_CANCELLED if cancelled else failures.SIGN_IN_REFUSED
        description = request.GET.get("error_description", "")[:500]
        return view.failure(request, failure, error=error, message=description)
    try:
        redeemed = redeem.redeem(flow, response_params)
    except ProviderError as exc:
        log = logger.warning if exc.transient else logger.error
        log("Sign-in could not finish at the token endpoint: %s", loggable(exc))
        return view.failure(request, failures.PROVIDER_UNAVAILABLE)
    if isinstance(redeemed, redeem.NotRedeemed):
        logger.warning("Sign-in failed at the token endpoint: %s", loggable(redeemed.error))
        return view.failure(request, failures.SIGN_IN_FAILED, error=redeemed.error)
    claims = redeemed.claims
    # The sign-in's tokens, not yet stored: group overage is resolved with them.
    sign_in = redeem.SignInTokens(redeemed.home_account_id, redeemed.state)
    try:
        user = authenticate(request, msal_claims=claims, msal_sign_in=sign_in)
    except SignInRefused as exc:  # tenant not allowed, groups unreadable: nothing stored
        refused = Failure(exc.status, exc.title, exc.message)
        return view.failure(request, refused, error=exc.error)
    if user is None:
        return view.failure(request, failures.NO_ACCESS)
    try:
        # With any token the sign-in's own checks acquired (group overage).
        redeem.store_sign_in(dataclasses.replace(redeemed, state=sign_in.state), user)
    except StoreUnavailable:
        return view.failure(request, failures.STORE_UNAVAILABLE)
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
    send_signed_in(type(view), request, user, home_account_id, claims)
    return HttpResponseRedirect(view.get_success_url(request, user, next_url))


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


login = LoginView.as_view()
callback = CallbackView.as_view()
