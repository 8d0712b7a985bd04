"""The database store: one ``CachedAccount`` row per account, on the project's database."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.db import DatabaseError, connections, router, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from msal_django.exceptions import StoreUnavailable
from msal_django.models import CachedAccount
from msal_django.stores import database_watch, token_memory
from msal_django.stores.base import AccountInfo, Partition, TokenStore, new_version
from msal_django.stores.rows import fetch_one
from msal_django.stores.summaries import summarize
from msal_django.stores.watch import Watch, settle

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


F = TypeVar("F", bound=Callable[..., Any])


def unavailable_on_database_error(method: F) -> F:
    """A database error becomes ``StoreUnavailable``: a 503, and a logout to retry."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except DatabaseError as exc:
            raise StoreUnavailable(f"The token store database is unavailable: {exc}") from exc

    return cast(F, wrapper)


class DatabaseStore(TokenStore):
    name = "database"

    def __init__(self) -> None:
        self._select_sql: dict[tuple[str, tuple[str, ...], bool], str] = {}

    def _select(self, alias: str, columns: tuple[str, ...], by_user: bool) -> str:
        # One indexed row read on the hot path, without the ORM's per-query compile cost.
        key = (alias, columns, by_user)
        sql = self._select_sql.get(key)
        if sql is None:
            quote = connections[alias].ops.quote_name
            # Only quoted identifiers from the model are interpolated; values are parameters.
            table = quote(CachedAccount._meta.db_table)
            selected = ", ".join(map(quote, columns))
            sql = f"SELECT {selected} FROM {table} "  # noqa: S608
            sql += f"WHERE {quote('home_account_id')} = %s"
            if by_user:
                sql += f" AND {quote('user_id')} = %s"
            self._select_sql[key] = sql
        return sql

    def _row(self, columns: tuple[str, ...], home_account_id: str, user_id: Any) -> Any:
        # The primary, never a replica: a replica may still hold tokens a logout removed,
        # or not yet hold the account that just signed in.
        alias = router.db_for_write(CachedAccount)
        params: tuple[Any, ...] = (home_account_id,)
        if user_id is not None:
            params += (user_id,)
        try:
            return fetch_one(alias, self._select(alias, columns, user_id is not None), params)
        except DatabaseError as exc:
            raise StoreUnavailable(f"The token store database is unavailable: {exc}") from exc

    def watch(self) -> Watch | None:
        return database_watch.current()

    def _settle(self, alias: str) -> None:
        # Another process may serve this account from memory until L after the commit.
        if connections[alias].vendor == "postgresql":
            settle(alias)

    def load(self, home_account_id: str, user_id: Any = None) -> Partition:
        row = self._row(("data", "version"), home_account_id, user_id)
        if row is None:
            return Partition(home_account_id, None, None)
        return Partition(home_account_id, self.unseal(home_account_id, bytes(row[0])), row[1])

    def version(self, home_account_id: str, user_id: Any = None) -> str | None:
        row = self._row(("version",), home_account_id, user_id)
        return None if row is None else str(row[0])

    @unavailable_on_database_error
    @sensitive_variables()
    def save(self, partition: Partition, state: str) -> str | None:
        if partition.version is None:
            return None
        now = timezone.now()
        version = new_version()
        updated = CachedAccount.objects.filter(
            home_account_id=partition.home_account_id, version=partition.version
        ).update(
            data=self.seal(partition.home_account_id, state),
            version=version,
            updated_at=now,
            **summarize(state, now).as_fields(),
        )
        return version if updated == 1 else None

    @unavailable_on_database_error
    @sensitive_variables()
    def replace(
        self, home_account_id: str, state: str, user: AbstractBaseUser | None, info: AccountInfo
    ) -> None:
        token_memory.forget(home_account_id)  # other processes: their watch or a read
        CachedAccount.objects.update_or_create(
            home_account_id=home_account_id,
            defaults={
                "user": cast(Any, user),
                "data": self.seal(home_account_id, state),
                "version": new_version(),
                "username": info.username[:255],
                "tenant_id": info.tenant_id[:64],
                "store": self.name,
                **summarize(state).as_fields(),
            },
        )

    @unavailable_on_database_error
    def remove(self, home_account_id: str) -> bool:
        alias = router.db_for_write(CachedAccount)
        with transaction.atomic(using=alias):
            deleted, _ = CachedAccount.objects.filter(home_account_id=home_account_id).delete()
        self._settle(alias)  # found or not: a concurrent removal may have deleted it
        return deleted > 0

    @unavailable_on_database_error
    def remove_many(self, home_account_ids: list[str]) -> list[str]:
        alias = router.db_for_write(CachedAccount)
        with transaction.atomic(using=alias):
            rows = CachedAccount.objects.using(alias).filter(home_account_id__in=home_account_ids)
            # Locked first, so a logout racing this batch finds nothing and sends no signal.
            present = list(rows.select_for_update().values_list("home_account_id", flat=True))
            rows.filter(home_account_id__in=present).delete()
        self._settle(alias)
        return present


database_store = DatabaseStore()
