"""msal-django: sign in with Microsoft Entra ID through MSAL Python, per-user token
caches in the database or Redis, and sign-out that really removes the tokens."""

from __future__ import annotations

from .exceptions import InteractionRequired, MsalDjangoError, ProviderError, StoreUnavailable
from .tokens import get_token

__all__ = [
    "InteractionRequired",
    "MsalDjangoError",
    "ProviderError",
    "StoreUnavailable",
    "get_token",
]
