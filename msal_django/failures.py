"""The failures a person can meet, each named once, and the page that shows one.

Views and ``InteractionRequiredMiddleware`` answer with these, so the same failure reads
the same wherever it happens.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

RETRY_AFTER = "30"  # seconds, on every 503


@dataclass(frozen=True, slots=True)
class Failure:
    status: int
    title: str | Promise  # a lazy translation: rendered in the request's language
    message: str | Promise = ""


INVALID_SIGN_IN_LINK = Failure(400, _("This sign-in link is not valid"), _("Please sign in again."))
UNKNOWN_SIGN_IN = Failure(
    400,
    _("This sign-in link is not valid"),
    _(
        "It has expired, was already used, or was not started in this browser. "
        "Please sign in again."
    ),
)
SIGN_IN_CANCELLED = Failure(400, _("Sign-in was cancelled"))  # the provider's description follows
SIGN_IN_REFUSED = Failure(400, _("Sign-in failed"))  # the provider's description follows
SIGN_IN_FAILED = Failure(
    400, _("Sign-in failed"), _("The sign-in could not be completed. Please sign in again.")
)
NO_ACCESS = Failure(403, _("No access"), _("Your account is not allowed to sign in to this site."))
PROVIDER_UNAVAILABLE = Failure(
    503,
    _("Sign-in is unavailable"),
    _("The identity provider could not be reached. Please try again in a moment."),
)
STORE_UNAVAILABLE = Failure(
    503,
    _("Sign-in is unavailable"),
    _("The service that keeps your sign-in is not answering. Please try again in a moment."),
)
SIGNED_OUT_HERE_ONLY = Failure(
    503,
    _("Signed out, but not everywhere"),
    _(
        "Your session here has ended, but the tokens this site keeps for you could not "
        "be removed because a service is not answering. An administrator can revoke them."
    ),
)
TEMPORARILY_UNAVAILABLE = Failure(
    503,
    _("Temporarily unavailable"),
    _("A service this page needs is not answering. Please try again in a moment."),
)


def failure_page(
    request: HttpRequest,
    failure: Failure,
    *,
    error: str = "",
    message: str | Promise | None = None,
) -> HttpResponse:
    """The page for ``failure``; ``error`` is the code shown, ``message`` replaces its text."""
    context = {
        "title": failure.title,
        "message": failure.message if message is None else message,
        "error": error,
        "status": failure.status,
    }
    response = render(request, "msal_django/error.html", context, status=failure.status)
    if failure.status == 503:
        response["Retry-After"] = RETRY_AFTER
    return response
