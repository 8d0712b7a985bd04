"""The interface every token store implements, and what they share (encryption).

A store keeps one *partition* per MSAL account (its ``home_account_id``): MSAL's
serialized token cache for that account alone, encrypted. Writes after a refresh are
compare-and-set on a version that never repeats, so a request that loaded the
partition earlier can neither overwrite newer tokens nor write back a removed one.
"""

from __future__ import annotations

import functools
import logging
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, connections, router
from django.views.decorators.debug import sensitive_variables

from msal_django.conf import msal_settings
from msal_django.exceptions import StoreUnavailable
from msal_django.redact import Secret
from msal_django.stores import sealing
from msal_django.stores.rows import fetch_one

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import QuerySet

    from msal_django.models import CachedAccount
    from msal_django.stores.watch import Watch

logger = logging.getLogger("msal_django.stores")


@dataclass(frozen=True, slots=True)
class Partition:
    """One account's token cache as loaded: ``state`` is MSAL's serialized cache."""

    home_account_id: str
    state: str | None = field(repr=False)  # tokens: kept out of reprs and tracebacks
    version: str | None = None  # None: nothing is stored for this account

    @property
    def exists(self) -> bool:
        return self.version is not None


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """What sign-in tells a store about an account besides its tokens (never a secret)."""

    username: str = ""
    tenant_id: str = ""


def new_version() -> str:
    # Random, so a partition removed and created again never reuses an old version.
    return uuid.uuid4().hex


class TokenStore(ABC):
    """Where partitions live. Implementations: ``DatabaseStore``, ``RedisStore``."""

    name: str = ""

    @abstractmethod
    def load(self, home_account_id: str, user_id: Any = None) -> Partition:
        """The account's partition (``state`` None if absent or unreadable).

        With ``user_id``, a partition linked to another user reads as absent.
        """

    @abstractmethod
    def version(self, home_account_id: str, user_id: Any = None) -> str | None:
        """Only the partition's version (None if absent), read where ``load`` reads: what
        a remembered token is checked against (``msal_django.stores.token_memory``).

        With ``user_id``, a partition linked to another user reads as absent.
        """

    @abstractmethod
    def save(self, partition: Partition, state: str) -> str | None:
        """Compare-and-set: write ``state`` if the partition is still at the loaded version.

        Returns the new version, or None, writing nothing, if it was changed or removed
        since.
        """

    @abstractmethod
    def replace(
        self, home_account_id: str, state: str, user: AbstractBaseUser | None, info: AccountInfo
    ) -> None:
        """Write unconditionally (an interactive sign-in's tokens are the newest)."""

    @abstractmethod
    def remove(self, home_account_id: str) -> bool:
        """Remove the partition; True if there was one."""

    def watch(self) -> Watch | None:
        """What lets a remembered token be served with no read (``stores/watch.py``), or
        None: every hit reads the version. A store that returns one must make each
        removal wait ``INVALIDATION_WINDOW`` after its delete (``watch.settle``)."""
        return None

    def remove_or_defer(self, home_account_id: str, reason: str) -> bool:
        """Remove the partition now, or (a store that can) record the removal and make it
        as soon as the store answers again; True if a partition was removed now.

        Raises ``StoreUnavailable`` if the removal could neither be made nor recorded.
        """
        return self.remove(home_account_id)

    def remove_many(self, home_account_ids: list[str]) -> list[str]:
        """Remove a batch of partitions; returns the ids that were there. Stores override
        this with one round trip per batch."""
        return [a for a in home_account_ids if self.remove(a)]

    # Both stores keep a ``CachedAccount`` row per account (the database store's holds
    # the tokens, the Redis store's only the link and summary): the user's accounts are
    # looked up there, on the primary, where a logout or a sign-in has already landed.

    def accounts_of(self, user: AbstractBaseUser) -> list[str]:
        """The ``home_account_id`` of every partition linked to ``user``."""
        try:
            return list(_index_of(user).values_list("home_account_id", flat=True))
        except DatabaseError as exc:
            raise StoreUnavailable(f"The database is unavailable: {exc}") from exc

    def newest_account_of(self, user: AbstractBaseUser) -> str | None:
        """The user's most recently written linked account, or None."""
        from msal_django.models import CachedAccount

        alias = router.db_for_write(CachedAccount)
        try:
            row = fetch_one(alias, _newest_sql(alias), (user.pk,))
        except DatabaseError as exc:
            raise StoreUnavailable(f"The database is unavailable: {exc}") from exc
        return None if row is None else str(row[0])

    # Shared by the implementations: encryption at rest.

    @sensitive_variables()
    def seal(self, home_account_id: str, state: str) -> bytes:
        return sealing.keyring(msal_settings.ENCRYPTION_KEYS).encrypt(state, home_account_id)

    def unseal(self, home_account_id: str, data: bytes) -> str | None:
        """Decrypt, or None (with a warning that shows no content) if that is impossible."""
        try:
            keys = sealing.keyring(msal_settings.ENCRYPTION_KEYS)
            return Secret(keys.decrypt(data, home_account_id))
        except sealing.InvalidToken:
            logger.warning(
                "The token cache of account %s could not be decrypted (tampered with, "
                "or written with a key no longer configured); treating it as empty.",
                home_account_id,
            )
            return None


def _index_of(user: AbstractBaseUser) -> QuerySet[CachedAccount]:
    from msal_django.models import CachedAccount  # models need the app registry; stores load later

    primary = router.db_for_write(CachedAccount)
    return CachedAccount.objects.using(primary).filter(user_id=user.pk)


@functools.cache
def _newest_sql(alias: str) -> str:
    # A raw indexed query on a hot path (get_token without an account in the session):
    # the ORM's compile step costs more than the query. Only quoted names are interpolated.
    from msal_django.models import CachedAccount

    quote = connections[alias].ops.quote_name
    table, column = quote(CachedAccount._meta.db_table), quote("home_account_id")
    newest_first = f"{quote('updated_at')} DESC, {quote(CachedAccount._meta.pk.attname)} DESC"
    return (
        f"SELECT {column} FROM {table} WHERE {quote('user_id')} = %s "  # noqa: S608
        f"ORDER BY {newest_first} LIMIT 1"
    )
