"""The logout endpoints the identity provider calls: front-channel (a hidden iframe in the
browser) and back-channel (a POST from the provider's server), OpenID Connect Front- and
Back-Channel Logout 1.0. Both end the sessions they name through ``removal.end_sessions``."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import format_html
from django.utils.translation import get_language, gettext
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from msal_django import jose
from msal_django.conf import msal_settings
from msal_django.constants import MAX_LOGOUT_BODY, MAX_LOGOUT_TOKEN_LENGTH, SESSION_ACCOUNT_KEY
from msal_django.exceptions import ProviderError, StoreUnavailable
from msal_django.redact import loggable
from msal_django.signout import logout_token, removal

logger = logging.getLogger("msal_django")


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
        return jose.issuer_matches(iss, jose.provider_issuer())
    except ProviderError as exc:
        # Sessions are still matched on the issuer recorded at sign-in.
        logger.warning(
            "Front-channel logout: the provider's issuer is unknown (%s).", loggable(exc)
        )
        return True


def _end_sessions(**match: Any) -> removal.EndedSessions | None:
    try:
        return removal.end_sessions(**match)
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
            removal.remove_account(home_account_id, user=user, reason="frontchannel_logout")
        except StoreUnavailable as exc:
            logger.error("Logout (frontchannel_logout) could not remove tokens: %s", exc)
    request.session.flush()


def _frontchannel_response() -> HttpResponse:
    page = format_html(
        '<!doctype html><html lang="{}"><title>{}</title>',
        get_language() or "en",
        gettext("Signed out"),
    )
    response = HttpResponse(page, content_type="text/html; charset=utf-8")
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
    if not 0 <= length <= MAX_LOGOUT_BODY:
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
