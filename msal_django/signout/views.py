"""The logout view: a confirmation page (GET), then sign-out here and at the provider
(POST). ``auth_logout`` sends Django's ``user_logged_out``, whose receiver
(``msal_django.signout.removal``) removes the account's tokens and ends its sessions."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout as auth_logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from msal_django import failures, msal_app
from msal_django.conf import msal_settings
from msal_django.constants import SESSION_ACCOUNT_KEY, SESSION_LOGIN_HINT_KEY
from msal_django.exceptions import ProviderError, StoreUnavailable
from msal_django.failures import failure_page
from msal_django.redact import loggable

logger = logging.getLogger("msal_django")


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
        return failure_page(request, failures.SIGNED_OUT_HERE_ONLY)
    local = request.build_absolute_uri(
        msal_settings.POST_LOGOUT_REDIRECT_URI or resolve_url(settings.LOGOUT_REDIRECT_URL or "/")
    )
    if not (signed_in_with_msal and msal_settings.PROVIDER_LOGOUT):
        return HttpResponseRedirect(local)
    try:
        end_session = msal_app.discovery_document().get("end_session_endpoint")
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
