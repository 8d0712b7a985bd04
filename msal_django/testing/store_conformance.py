"""The guarantees every token store keeps, as a pytest suite you run against your own.

Subclass ``StoreConformance`` in your tests and give it your store (pytest-django and a
database are needed: stores link partitions to users)::

    from msal_django.testing.store_conformance import StoreConformance

    class TestMyStore(StoreConformance):
        @pytest.fixture
        def store(self, settings):
            settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "TOKEN_CACHE": "myapp.stores.MyStore"}
            return MyStore()

msal-django's database and Redis stores (single server, sharded, Sentinel, Cluster)
pass it in its own test suite. What it proves:

- a partition reads back as written, with a version; ``version`` is what ``load`` says;
- ``save`` is a compare-and-set: a write from a stale version writes nothing, and of
  concurrent writers from one version exactly one wins;
- a removal wins over an in-flight refresh: a partition loaded before the removal is
  never written back, and a removed partition reads as absent at once, from any thread;
- versions never repeat, even across a removal and a new sign-in;
- a partition linked to another user reads as absent;
- ``remove_many`` removes a batch and says which were there; ``accounts_of`` and
  ``newest_account_of`` find the user's partitions.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from msal_django.stores.base import AccountInfo, TokenStore

__all__ = ["StoreConformance"]


def _state(n: int = 0) -> str:
    """A stand-in for MSAL's serialized cache: the store must not parse it."""
    return f'{{"AccessToken": {{}}, "RefreshToken": {{"n": {n}}}, "filler": "{"x" * 64}"}}'


@pytest.mark.django_db(transaction=True)  # threads write from their own connections
class StoreConformance:
    """The store suite; override the ``store`` fixture to return the store under test."""

    @pytest.fixture
    def store(self) -> TokenStore:
        raise NotImplementedError("Override the `store` fixture to return your TokenStore.")

    @pytest.fixture
    def account(self) -> str:
        return f"{uuid.uuid4()}.{uuid.uuid4()}"

    @pytest.fixture
    def user(self, django_user_model: Any) -> Any:
        return django_user_model.objects.create(username=f"conformance-{uuid.uuid4().hex[:8]}")

    def _write(self, store: TokenStore, account: str, user: Any, n: int = 0) -> str:
        store.replace(account, _state(n), user, AccountInfo(username=str(user), tenant_id="t"))
        version = store.version(account, user.pk)
        assert version is not None, "a written partition has a version"
        return version

    def test_a_partition_reads_back_as_written(
        self, store: TokenStore, account: str, user: Any
    ) -> None:
        assert not store.load(account, user.pk).exists
        assert store.version(account, user.pk) is None
        version = self._write(store, account, user)
        partition = store.load(account, user.pk)
        assert partition.state == _state()
        assert partition.version == version == store.version(account)

    def test_save_is_a_compare_and_set(self, store: TokenStore, account: str, user: Any) -> None:
        self._write(store, account, user)
        loaded = store.load(account, user.pk)
        new = store.save(loaded, _state(1))
        assert new is not None
        assert new != loaded.version
        assert store.save(loaded, _state(2)) is None, "a stale version must not write"
        assert store.load(account, user.pk).state == _state(1)
        assert store.version(account, user.pk) == new

    def test_of_concurrent_writers_from_one_version_exactly_one_wins(
        self, store: TokenStore, account: str, user: Any
    ) -> None:
        self._write(store, account, user)
        loaded = store.load(account, user.pk)
        results: list[str | None] = []
        errors: list[BaseException] = []
        start = threading.Barrier(4)

        def write(n: int) -> None:
            start.wait()
            try:
                results.append(store.save(loaded, _state(n)))
            except BaseException as exc:  # a conflict is None, never an exception
                errors.append(exc)
            finally:
                from django.db import connections

                connections.close_all()

        threads = [threading.Thread(target=write, args=(n,)) for n in range(1, 5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        winners = [r for r in results if r is not None]
        assert len(winners) == 1, results
        assert store.version(account, user.pk) == winners[0]

    def test_a_removal_wins_over_an_in_flight_refresh(
        self, store: TokenStore, account: str, user: Any
    ) -> None:
        self._write(store, account, user)
        in_flight = store.load(account, user.pk)  # a refresh loaded it, then...
        assert store.remove(account) is True  # ...a logout removed it
        assert store.save(in_flight, _state(1)) is None, "a removed partition came back"
        assert not store.load(account, user.pk).exists
        assert store.version(account, user.pk) is None
        assert store.remove(account) is False

    def test_a_removal_is_seen_at_once_by_another_thread(
        self, store: TokenStore, account: str, user: Any
    ) -> None:
        self._write(store, account, user)
        seen: list[str | None] = []

        def read() -> None:
            try:
                seen.append(store.version(account, user.pk))
            finally:
                from django.db import connections

                connections.close_all()

        store.remove(account)
        thread = threading.Thread(target=read)
        thread.start()
        thread.join()
        assert seen == [None]

    def test_versions_never_repeat(self, store: TokenStore, account: str, user: Any) -> None:
        versions = {self._write(store, account, user)}
        loaded = store.load(account, user.pk)
        versions.add(store.save(loaded, _state(1)) or "")
        store.remove(account)
        versions.add(self._write(store, account, user))
        assert len(versions) == 3
        assert "" not in versions

    def test_another_users_partition_reads_as_absent(
        self, store: TokenStore, account: str, user: Any, django_user_model: Any
    ) -> None:
        self._write(store, account, user)
        other = django_user_model.objects.create(username=f"other-{uuid.uuid4().hex[:8]}")
        assert not store.load(account, other.pk).exists
        assert store.version(account, other.pk) is None
        assert store.load(account, user.pk).exists

    def test_batches_and_the_users_accounts(self, store: TokenStore, user: Any) -> None:
        accounts = [f"{uuid.uuid4()}.{uuid.uuid4()}" for _ in range(3)]
        for account in accounts:
            self._write(store, account, user)
        assert sorted(store.accounts_of(user)) == sorted(accounts)
        assert store.newest_account_of(user) in accounts
        gone = store.remove_many([accounts[0], accounts[1], "never-stored.account"])
        assert sorted(gone) == sorted(accounts[:2])
        assert store.accounts_of(user) == [accounts[2]]
        assert store.newest_account_of(user) == accounts[2]
