"""msal-django: sign in with Microsoft Entra ID through MSAL Python, per-user token
caches in the database or Redis, and sign-out that really removes the tokens."""

from __future__ import annotations

from typing import Any

from .exceptions import InteractionRequired, MsalDjangoError, ProviderError, StoreUnavailable
from .tokens import aget_token, aget_token_for_user, get_token, get_token_for_user

__all__ = [
    "InteractionRequired",
    "MsalDjangoError",
    "ProviderError",
    "StoreUnavailable",
    "aget_token",
    "aget_token_for_user",
    "get_app_token",
    "get_token",
    "get_token_for_user",
    "get_token_on_behalf_of",
]

# Protected APIs: imported on first use (they need the app registry: models).
_LAZY = {"get_token_on_behalf_of": "downstream", "get_app_token": "downstream"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
