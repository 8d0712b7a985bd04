"""Token stores: where each account's encrypted MSAL token cache lives."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .base import AccountInfo, Partition, TokenStore

__all__ = ["AccountInfo", "DefersRemoval", "Partition", "TokenStore", "get_store"]


@runtime_checkable
class DefersRemoval(Protocol):
    """A store that can record a removal it cannot make now and make it later (Redis)."""

    def defer_removal(self, home_account_id: str, reason: str) -> None: ...


def get_store() -> TokenStore:
    """The store named by ``MSAL_DJANGO["TOKEN_CACHE"]``."""
    from ..conf import msal_settings

    name = msal_settings.TOKEN_CACHE
    if name == "database":
        from .database import database_store

        return database_store
    if name == "redis":
        from .redis import redis_store

        return redis_store
    raise ValueError(f"Unknown MSAL_DJANGO['TOKEN_CACHE'] {name!r}; run manage.py check.")
