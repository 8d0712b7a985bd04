"""msal-django: sign in with Microsoft Entra ID through MSAL Python, per-user token
caches in the database or Redis, and sign-out that really removes the tokens."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from msal_django.exceptions import (
    InteractionRequired,
    MsalDjangoError,
    ProviderError,
    StoreUnavailable,
)

if TYPE_CHECKING:
    from msal_django.tokens import aget_token, aget_token_for_user, get_token, get_token_for_user
    from msal_django.tokens.claims import claims_challenge
    from msal_django.webapi.downstream import get_app_token, get_token_on_behalf_of

__all__ = [
    "InteractionRequired",
    "MsalDjangoError",
    "ProviderError",
    "StoreUnavailable",
    "aget_token",
    "aget_token_for_user",
    "claims_challenge",
    "get_app_token",
    "get_token",
    "get_token_for_user",
    "get_token_on_behalf_of",
]

# Imported on first use: importing the package (a management command, the pytest plugin
# every pytest run loads) pulls in neither MSAL nor cryptography.
_LAZY = {
    "aget_token": "tokens",
    "aget_token_for_user": "tokens",
    "get_token": "tokens",
    "get_token_for_user": "tokens",
    "claims_challenge": "tokens.claims",
    "get_token_on_behalf_of": "webapi.downstream",
    "get_app_token": "webapi.downstream",
}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value
