"""Token stores: where each account's encrypted MSAL token cache lives."""

from __future__ import annotations

from .base import AccountInfo, Partition, TokenStore

__all__ = ["AccountInfo", "Partition", "TokenStore", "get_store"]


def get_store() -> TokenStore:
    """The store named by ``MSAL_DJANGO["TOKEN_CACHE"]``."""
    from ..conf import msal_settings

    name = msal_settings.TOKEN_CACHE
    if name == "database":
        from .database import database_store

        return database_store
    raise ValueError(f"Unknown MSAL_DJANGO['TOKEN_CACHE'] {name!r}; run manage.py check.")
