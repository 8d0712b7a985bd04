"""A token store of a project's own (``TOKEN_CACHE = "tests.custom_store.MemoryStore"``):
this process's memory, for the tests that prove a store written against the documented
``TokenStore`` interface works everywhere msal-django uses one, and passes the
conformance suite (``msal_django.testing.store_conformance``)."""

from __future__ import annotations

import threading
import time
from typing import Any

from msal_django.stores import AccountInfo, Partition, TokenStore
from msal_django.stores.base import new_version

_lock = threading.Lock()
# home_account_id -> (sealed cache, version, user id, written at)
_partitions: dict[str, tuple[bytes, str, Any, float]] = {}


class MemoryStore(TokenStore):
    """Partitions in a dict behind a lock: every read and compare-and-set is atomic."""

    name = "memory"

    def load(self, home_account_id: str, user_id: Any = None) -> Partition:
        with _lock:
            entry = self._entry(home_account_id, user_id)
        if entry is None:
            return Partition(home_account_id, None)
        return Partition(home_account_id, self.unseal(home_account_id, entry[0]), entry[1])

    def version(self, home_account_id: str, user_id: Any = None) -> str | None:
        with _lock:
            entry = self._entry(home_account_id, user_id)
        return None if entry is None else entry[1]

    def save(self, partition: Partition, state: str) -> str | None:
        sealed = self.seal(partition.home_account_id, state)
        with _lock:
            entry = _partitions.get(partition.home_account_id)
            if entry is None or entry[1] != partition.version:
                return None  # changed or removed since it was loaded
            version = new_version()
            _partitions[partition.home_account_id] = (sealed, version, entry[2], time.time())
            return version

    def replace(self, home_account_id: str, state: str, user: Any, info: AccountInfo) -> None:
        sealed = self.seal(home_account_id, state)
        user_id = None if user is None else user.pk
        with _lock:
            _partitions[home_account_id] = (sealed, new_version(), user_id, time.time())

    def remove(self, home_account_id: str) -> bool:
        with _lock:
            return _partitions.pop(home_account_id, None) is not None

    def accounts_of(self, user: Any) -> list[str]:
        with _lock:
            return [a for a, entry in _partitions.items() if entry[2] == user.pk]

    def newest_account_of(self, user: Any) -> str | None:
        with _lock:
            mine = [(entry[3], a) for a, entry in _partitions.items() if entry[2] == user.pk]
        return max(mine)[1] if mine else None

    @staticmethod
    def _entry(home_account_id: str, user_id: Any) -> tuple[bytes, str, Any, float] | None:
        entry = _partitions.get(home_account_id)
        if entry is None or (user_id is not None and entry[2] != user_id):
            return None
        return entry
