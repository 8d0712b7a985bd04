"""The site as a web API: ``require_token`` and what it admits (the public face of
``msal_django.webapi``, where the code lives)."""

from __future__ import annotations

from msal_django.webapi.require import (
    AppCaller,
    CallerTokens,
    NoLinkedUser,
    access_denied,
    authenticate,
    bearer_token,
    challenge,
    interaction_required_response,
    require_token,
    temporarily_unavailable,
)

__all__ = [
    "AppCaller",
    "CallerTokens",
    "NoLinkedUser",
    "access_denied",
    "authenticate",
    "bearer_token",
    "challenge",
    "interaction_required_response",
    "require_token",
    "temporarily_unavailable",
]
