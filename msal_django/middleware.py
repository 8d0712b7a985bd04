"""``InteractionRequiredMiddleware``: ``InteractionRequired`` becomes a sign-in redirect."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from .exceptions import InteractionRequired, ProviderError, StoreUnavailable
from .redact import loggable
from .views import error_page

logger = logging.getLogger("msal_django")


class InteractionRequiredMiddleware:
    """Turns ``InteractionRequired`` raised by a view into a redirect to ``login``
    (asking for the scopes it carries, then back to the page), and an unavailable
    provider or token store into a 503 page instead of a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, InteractionRequired):
            # A POST cannot be replayed after sign-in: come back to the page it came from.
            back = request.get_full_path() if request.method in ("GET", "HEAD") else "/"
            query = {"next": back}
            if exception.scopes:
                query["scopes"] = " ".join(exception.scopes)
            if exception.error == "consent_required":
                query["prompt"] = "consent"
            if exception.claims_challenge:  # Conditional Access / CAE asks for more
                query["claims"] = exception.claims_challenge
            return HttpResponseRedirect(f"{reverse('msal_django:login')}?{urlencode(query)}")
        if isinstance(exception, StoreUnavailable) or (
            isinstance(exception, ProviderError) and exception.transient
        ):
            logger.warning("Answering 503: %s", loggable(exception))
            return error_page(
                request,
                503,
                "Temporarily unavailable",
                "A service this page needs is not answering. Please try again in a moment.",
            )
        return None
