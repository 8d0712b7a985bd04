"""What a cache hit needs, kept in this process between requests; one refresh at a time.

A hit on the full path loads the account's partition, decrypts it and asks MSAL. Most
of that repeats what the previous call of the same account found, so each process keeps
the access tokens MSAL served, keyed by the account and the partition's *version*, in a
bounded LRU (``ACCESS_TOKENS_IN_MEMORY`` accounts; 0 turns it off). A call then reads
only the version from the store, on the primary as before: while it is the remembered
one, the remembered token is what MSAL would return from that partition. A logout (any
channel, any host) removes the partition and a refresh or sign-in rewrites it with a new
version, so a remembered token is never served once its partition is gone or replaced.
Anything else (scopes not covered, a token within MSAL's five-minute expiry window or
past its ``refresh_on``) takes the full path, where MSAL decides.

The full path runs one at a time per account in a process (``one_at_a_time``): requests
of one user that all find a stale token wait for the first one's refresh and then read
what it stored, instead of each making a provider round trip.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from msal_django.conf import msal_settings, resets_on_change

# MSAL takes an access token within five minutes of its expiry for expired; so do we.
EXPIRY_WINDOW = 5 * 60
_SCOPE_SETS_PER_ACCOUNT = 8


@dataclass(frozen=True, slots=True)
class Remembered:
    """An access token MSAL returned from one version of an account's partition."""

    version: str
    scopes: frozenset[str]  # the scopes it was returned for (its own are a superset)
    token: str = field(repr=False)
    expires_on: float  # time.time()
    refresh_on: float | None = None
    # The watch's epoch this token may be served under with no read (``stores/watch.py``),
    # 0 for never, and the user whose partition it was read from (None: not checked).
    epoch: int = 0
    owner: Any = None

    def serves(self, scopes: frozenset[str], now: float) -> bool:
        return (
            scopes <= self.scopes
            and self.expires_on - now >= EXPIRY_WINDOW
            and (self.refresh_on is None or self.refresh_on > now)
        )


class TokenMemory:
    """An LRU of accounts, each with the tokens remembered for one partition version."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._accounts: OrderedDict[str, list[Remembered]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._accounts)

    def lookup(self, home_account_id: str, scopes: frozenset[str]) -> Remembered | None:
        """A remembered token that would serve ``scopes`` now, if the version still holds."""
        with self._lock:
            tokens = self._accounts.get(home_account_id)
            if tokens is None:
                return None
            self._accounts.move_to_end(home_account_id)
        now = time.time()
        return next((t for t in tokens if t.serves(scopes, now)), None)

    def remember(self, home_account_id: str, remembered: Remembered) -> None:
        with self._lock:
            tokens = self._accounts.pop(home_account_id, [])
            kept = [t for t in tokens if t.version == remembered.version]
            kept = [remembered, *(t for t in kept if t.scopes != remembered.scopes)]
            self._accounts[home_account_id] = kept[:_SCOPE_SETS_PER_ACCOUNT]
            while len(self._accounts) > self.size:
                self._accounts.popitem(last=False)

    def trust(self, home_account_id: str, remembered: Remembered, epoch: int, owner: Any) -> None:
        """Mark ``remembered``, if still kept, as servable under ``epoch`` (a read of its
        version matched after the watch's stamp)."""
        with self._lock:
            tokens = self._accounts.get(home_account_id)
            if tokens is not None and remembered in tokens:
                at = tokens.index(remembered)
                tokens[at] = replace(remembered, epoch=epoch, owner=owner)

    def forget(self, home_account_id: str) -> None:
        with self._lock:
            self._accounts.pop(home_account_id, None)

    def clear(self) -> None:
        with self._lock:
            self._accounts.clear()


_memory: TokenMemory | None = None
_built = False
_build_lock = threading.Lock()


def memory() -> TokenMemory | None:
    """This process's memory, or None when ``ACCESS_TOKENS_IN_MEMORY`` is 0. Built once
    per settings change (``setting_changed`` calls ``reset``)."""
    if not _built:
        _build()
    return _memory


def _build() -> None:
    global _memory, _built
    with _build_lock:
        size = msal_settings.ACCESS_TOKENS_IN_MEMORY
        _memory = TokenMemory(size) if size > 0 else None
        _built = True


@resets_on_change()
def reset() -> None:
    """Forget every remembered token (settings changed: keys, the client, the store)."""
    global _memory, _built
    with _build_lock:
        _memory, _built = None, False


def forget(home_account_id: str | None) -> None:
    """Drop the account's remembered tokens (it was removed or rewritten here, or a
    store's watch saw it change); None: everyone's."""
    current = _memory
    if current is not None:
        if home_account_id is None:
            current.clear()
        else:
            current.forget(home_account_id)


# -- one full path (load, MSAL, maybe a refresh) per account at a time ----------------

_flights: dict[str, tuple[threading.Lock, int]] = {}  # account -> (lock, holders + waiters)
_flights_lock = threading.Lock()


@contextmanager
def one_at_a_time(home_account_id: str) -> Iterator[None]:
    """Hold the account's lock for the block: concurrent requests of one account in this
    process take turns, so one refresh serves them all. Only accounts with a request in
    the block have an entry. A holder slower than the wait (a provider that hangs) is
    not waited for any longer: compare-and-set keeps the concurrent writes correct."""
    with _flights_lock:
        lock, users = _flights.get(home_account_id, (None, 0))
        if lock is None:
            lock = threading.Lock()
        _flights[home_account_id] = (lock, users + 1)
    held = lock.acquire(timeout=2 * msal_settings.TIMEOUT + 1)
    try:
        yield
    finally:
        if held:
            lock.release()
        with _flights_lock:
            lock, users = _flights[home_account_id]
            if users == 1:
                del _flights[home_account_id]
            else:
                _flights[home_account_id] = (lock, users - 1)


def _after_fork() -> None:
    # A thread of the parent (a store's watch forgetting tokens, a request) may have held
    # these locks at the fork: the child's copies would never be released.
    global _build_lock, _flights_lock
    _build_lock, _flights_lock = threading.Lock(), threading.Lock()
    _flights.clear()
    if _memory is not None:
        _memory._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def accounts_in_flight() -> int:
    """How many accounts have a request in ``one_at_a_time`` (tests: it stays bounded)."""
    with _flights_lock:
        return len(_flights)
