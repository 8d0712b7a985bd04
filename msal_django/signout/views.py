"""The logout view: a confirmation page (GET), then sign-out here and at the provider
(POST). ``auth_logout`` sends Django's ``user_logged_out``, whose receiver
(``msal_django.signout.removal``) removes the account's tokens and ends its sessions."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout as auth_logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from msal_django import failures, msal_app
from msal_django.conf import msal_settings
from msal_django.constants import SESSION_ACCOUNT_KEY, SESSION_LOGIN_HINT_KEY
from msal_django.exceptions import ProviderError, StoreUnavailable
from msal_django.failures import failure_page
from msal_django.redact import loggable

logger = logging.getLogger("msal_django")


@method_decorator([never_cache, csrf_protect], name="dispatch")
class LogoutView(View):
    """GET: a confirmation page (``template_name``). POST: sign out here, then at the
    provider, which sends the browser back to ``get_post_logout_redirect_url``.

    Hooks: ``template_name`` and ``get_context_data`` (the confirmation page),
    ``get_post_logout_redirect_url``, ``get_provider_logout_params``.
    """

    http_method_names = ["get", "post"]
    template_name = "msal_django/logout.html"

    def get_context_data(self, request: HttpRequest) -> dict[str, Any]:
        """The confirmation page's context (the template has ``request`` and ``csrf_token``)."""
        return {}

    def get_post_logout_redirect_url(self, request: HttpRequest) -> str:
        """Where the browser lands after signing out (an absolute URL, registered with the
        provider as a post-logout redirect URI): :setting:`POST_LOGOUT_REDIRECT_URI`, else
        ``LOGOUT_REDIRECT_URL``, else ``/``."""
        return request.build_absolute_uri(
            msal_settings.POST_LOGOUT_REDIRECT_URI
            or resolve_url(settings.LOGOUT_REDIRECT_URL or "/")
        )

    def get_provider_logout_params(
        self, request: HttpRequest, redirect_url: str, logout_hint: str | None
    ) -> dict[str, str]:
        """The query of the provider's ``end_session_endpoint`` (OpenID Connect
        RP-Initiated Logout): ``post_logout_redirect_uri``, ``client_id`` and Entra's
        ``logout_hint`` (it skips the account picker)."""
        params = {"post_logout_redirect_uri": redirect_url, "client_id": msal_settings.CLIENT_ID}
        if logout_hint:
            params["logout_hint"] = logout_hint
        return params

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, self.get_context_data(request))

    def post(self, request: HttpRequest) -> HttpResponse:
        signed_in_with_msal = bool(request.session.get(SESSION_ACCOUNT_KEY))
        logout_hint = request.session.get(SESSION_LOGIN_HINT_KEY)
        try:
            auth_logout(request)  # user_logged_out removes the account's tokens
        except StoreUnavailable as exc:
            logger.error("Logout could not remove the account's tokens: %s", exc)
            request.session.flush()  # signed out here all the same
            return failure_page(request, failures.SIGNED_OUT_HERE_ONLY)
        local = self.get_post_logout_redirect_url(request)
        if not (signed_in_with_msal and msal_settings.PROVIDER_LOGOUT):
            return HttpResponseRedirect(local)
        try:
            end_session = msal_app.discovery_document().get("end_session_endpoint")
        except ProviderError as exc:
            logger.warning("Signed out here only: %s", loggable(exc))
            end_session = None
        if not end_session:
            return HttpResponseRedirect(local)
        query = urlencode(self.get_provider_logout_params(request, local, logout_hint))
        separator = "&" if "?" in end_session else "?"
        return HttpResponseRedirect(f"{end_session}{separator}{query}")


logout = LogoutView.as_view()
