"""Django REST framework support (``pip install "msal-django[drf]"``): the public face
of ``msal_django.webapi.drf``, where the code lives."""

from __future__ import annotations

from msal_django.webapi.drf import (
    AppCaller,
    BearerTokenAuthentication,
    HasRoles,
    HasScopes,
    RequiresClaims,
    TemporarilyUnavailable,
)

__all__ = [
    "AppCaller",
    "BearerTokenAuthentication",
    "HasRoles",
    "HasScopes",
    "RequiresClaims",
    "TemporarilyUnavailable",
]
