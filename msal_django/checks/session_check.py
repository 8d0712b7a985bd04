"""The checks of the sign-out that follows the account: SESSION_CHECK_INTERVAL,
CLIENT_CAPABILITIES, and the middleware's place."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error

from msal_django.conf import seconds

SESSION_CHECK_MIDDLEWARE = "msal_django.middleware.SessionCheckMiddleware"
AUTHENTICATION_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"


def check_session_check(config: dict[str, Any]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    interval = config["SESSION_CHECK_INTERVAL"]
    if interval is not None and (
        isinstance(interval, bool)
        or not isinstance(interval, int | float | timedelta)
        or seconds(interval) <= 0
    ):
        errors.append(
            Error(
                'MSAL_DJANGO["SESSION_CHECK_INTERVAL"] must be a number of seconds (or a '
                "timedelta) > 0, or None.",
                hint="900 (15 minutes, Entra's CAE propagation bound) is the default; None "
                "turns the session check off.",
                id="msal_django.E025",
            )
        )
    capabilities = config["CLIENT_CAPABILITIES"]
    if not (
        isinstance(capabilities, list | tuple)
        and all(isinstance(c, str) and c for c in capabilities)
    ):
        errors.append(
            Error(
                'MSAL_DJANGO["CLIENT_CAPABILITIES"] must be a list of strings.',
                hint='["cp1"] declares Continuous Access Evaluation; [] declares nothing.',
                id="msal_django.E026",
            )
        )
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if SESSION_CHECK_MIDDLEWARE in middleware and (
        AUTHENTICATION_MIDDLEWARE not in middleware
        or middleware.index(SESSION_CHECK_MIDDLEWARE) < middleware.index(AUTHENTICATION_MIDDLEWARE)
    ):
        errors.append(
            Error(
                f"{SESSION_CHECK_MIDDLEWARE} must come after {AUTHENTICATION_MIDDLEWARE}.",
                hint="It reads request.user and the session; put it after both middlewares.",
                id="msal_django.E027",
            )
        )
    return errors
