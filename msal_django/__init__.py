"""msal-django: sign in with Microsoft Entra ID through MSAL Python, per-user token
caches in the database or Redis, and sign-out that really removes the tokens."""

from __future__ import annotations

from .exceptions import InteractionRequired, MsalDjangoError, ProviderError, StoreUnavailable
from .tokens import aget_token, aget_token_for_user, get_token, get_token_for_user

__all__ = [
    "InteractionRequired",
    "MsalDjangoError",
    "ProviderError",
    "StoreUnavailable",
    "aget_token",
    "aget_token_for_user",
    "get_token",
    "get_token_for_user",
]
