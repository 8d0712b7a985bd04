"""Token stores: where each account's encrypted MSAL token cache lives."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.module_loading import import_string

from msal_django.conf import msal_settings
from msal_django.stores.base import AccountInfo, Partition, TokenStore

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

__all__ = [
    "AccountInfo",
    "DatabaseStore",
    "Partition",
    "RedisStore",
    "TokenStore",
    "get_store",
    "newest_account_of",
]


def newest_account_of(user: AbstractBaseUser) -> str | None:
    """The user's most recently written linked account in the configured store, or None."""
    return get_store().newest_account_of(user)


def get_store() -> TokenStore:
    """The store named by ``MSAL_DJANGO["TOKEN_CACHE"]``."""
    name = msal_settings.TOKEN_CACHE
    store = _stores.get(name)
    if store is None:
        store = _stores[name] = _import_store(name)
    return store


_stores: dict[str, TokenStore] = {}


def _import_store(name: str) -> TokenStore:
    # Imported on first use: the stores import models, which need the app registry.
    if name == "database":
        from msal_django.stores.database import database_store

        return database_store
    if name == "redis":
        from msal_django.stores.redis import redis_store

        return redis_store
    store_class = custom_store_class(name)
    if store_class is None:
        raise ValueError(f"Unknown MSAL_DJANGO['TOKEN_CACHE'] {name!r}; run manage.py check.")
    return store_class()


def custom_store_class(path: str) -> type[TokenStore] | None:
    """The ``TokenStore`` subclass a dotted path names, or None."""
    if "." not in path:
        return None
    try:
        found = import_string(path)
    except ImportError:
        return None
    return found if isinstance(found, type) and issubclass(found, TokenStore) else None


def __getattr__(name: str) -> Any:
    """``DatabaseStore`` and ``RedisStore``, to subclass: imported on first use (they
    import models, which need the app registry)."""
    if name == "DatabaseStore":
        from msal_django.stores.database import DatabaseStore

        return DatabaseStore
    if name == "RedisStore":
        from msal_django.stores.redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
