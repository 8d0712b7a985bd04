"""``InteractionRequiredMiddleware``: ``InteractionRequired`` becomes a sign-in redirect,
or a 401 JSON answer for a request that cannot follow one (a page's ``fetch()``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from msal_django import failures
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
