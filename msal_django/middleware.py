"""``InteractionRequiredMiddleware``: ``InteractionRequired`` becomes a sign-in redirect,
or a 401 JSON answer for a request that cannot follow one (a page's ``fetch()``).
``SessionCheckMiddleware``: a session whose account the provider no longer stands by
ends (``SESSION_CHECK_INTERVAL``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from msal_django import failures
from msal_django.constants import SESSION_ACCOUNT_KEY
from msal_django.exceptions import InteractionRequired, ProviderError, StoreUnavailable
from msal_django.failures import failure_page
from msal_django.redact import loggable

logger = logging.getLogger("msal_django")


class InteractionRequiredMiddleware:
    """Turns ``InteractionRequired`` raised by a view into a redirect to ``login``
    (asking for the scopes it carries, then back to the page), and an unavailable
    provider or token store into a 503 page instead of a 500.

    A request that is not a top-level navigation cannot follow a redirect to the
    provider: it gets ``401`` with ``{"error": "interaction_required", "login_url": ...,
    "scopes": [...]}`` (and a 503 as JSON), so the page's script can send the person to
    ``login_url``. Works in both sync and async stacks.
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponse]
        | Callable[[HttpRequest], Awaitable[HttpResponse]],
    ) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        # Django calls process_exception itself, synchronously, in both modes.
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, InteractionRequired):
            return interaction_required_response(request, exception)
        if isinstance(exception, StoreUnavailable) or (
            isinstance(exception, ProviderError) and exception.transient
        ):
            logger.warning("Answering 503: %s", loggable(exception))
            if not is_navigation(request):
                response = JsonResponse({"error": "temporarily_unavailable"}, status=503)
                response["Retry-After"] = failures.RETRY_AFTER
                return response
            return failure_page(request, failures.TEMPORARILY_UNAVAILABLE)
        return None


def login_url(exception: InteractionRequired, next_url: str) -> str:
    """The ``login`` URL that asks for what ``exception`` needs, then returns to ``next_url``."""
    query = {"next": next_url}
    if exception.scopes:
        query["scopes"] = " ".join(exception.scopes)
    if exception.error == "consent_required":
        query["prompt"] = "consent"
    if exception.claims_challenge:  # Conditional Access / CAE asks for more
        query["claims"] = exception.claims_challenge
    return f"{reverse('msal_django:login')}?{urlencode(query)}"


def is_navigation(request: HttpRequest) -> bool:
    """Whether the browser shows the response as a page (so it can follow a redirect to
    the provider): ``Sec-Fetch-Mode``, or without it, what the request asks for."""
    mode = request.headers.get("Sec-Fetch-Mode")
    if mode:
        return mode == "navigate"
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return False
    if "Accept" not in request.headers:
        return True  # a plain client; an old browser always sends one
    preferred = request.get_preferred_type(["text/html", "application/json"])
    return preferred != "application/json"


def _referring_page(request: HttpRequest) -> str:
    """Where to come back to after sign-in: the page that made the request, if it is ours."""
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(referer)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return "/"


class SessionCheckMiddleware:
    """Signs a session out when the provider no longer stands by its account.

    At most once per ``SESSION_CHECK_INTERVAL`` per account, across every process and
    host, a request of a session signed in through msal-django asks the provider whether
    the account still stands (``msal_django.tokens.session_check``). Refused (the user
    disabled, their sessions revoked, their password reset): the account's tokens are
    removed and every session signed in with it ends; this request is redirected to sign
    in, or, if it cannot follow a redirect (a page's ``fetch()``), answered ``401`` with
    ``{"error": "interaction_required", "login_url": ...}``. The provider unreachable:
    nothing ends, and it is asked again a minute later. A request inside the interval
    costs a dictionary lookup: no provider call, no store read or write.

    Goes after ``AuthenticationMiddleware`` (``msal_django.E027``); sync and async.
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponse]
        | Callable[[HttpRequest], Awaitable[HttpResponse]],
    ) -> None:
        from msal_django.tokens import session_check  # MSAL: loaded when serving, not before

        self.get_response = get_response
        self.session_check = session_check
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        session = getattr(request, "session", None)
        account = session.get(SESSION_ACCOUNT_KEY) if session is not None else None
        if account and self.session_check.due(account):
            refused = self.check(request, account)
            if refused is not None:
                return refused
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> Any:
        session = getattr(request, "session", None)
        account = await session.aget(SESSION_ACCOUNT_KEY) if session is not None else None
        if account and self.session_check.due(account):
            refused = await sync_to_async(self.check)(request, account)
            if refused is not None:
                return refused
        return await self.get_response(request)  # type: ignore[misc]

    def check(self, request: HttpRequest, account: str) -> HttpResponse | None:
        """Ask the provider if it is time; the answer to send if the session ended."""
        user = getattr(request, "user", None)
        linked = user if user is not None and user.is_authenticated else None
        outcome = self.session_check.check_if_due(account, linked)
        if outcome is not self.session_check.Outcome.REMOVED:
            return None
        request.session.flush()  # its row is gone already; the cookie goes too
        request.user = AnonymousUser()
        return interaction_required_response(request, InteractionRequired(error="session_ended"))


def interaction_required_response(
    request: HttpRequest, exception: InteractionRequired
) -> HttpResponse:
    """A navigation goes to ``login`` and comes back; anything else gets the 401 JSON
    with the ``login_url`` its page's script sends the person to."""
    if is_navigation(request):
        # A POST cannot be replayed after sign-in: come back to the page it came from.
        back = request.get_full_path() if request.method in ("GET", "HEAD") else "/"
        return HttpResponseRedirect(login_url(exception, back))
    url = login_url(exception, _referring_page(request))
    response = JsonResponse(
        {"error": "interaction_required", "login_url": url, "scopes": exception.scopes},
        status=401,
    )
    response["Cache-Control"] = "no-store"
    return response
