"""A remembered token served with no read, while the store proves nothing was missed.

The invariant: no call that starts after a logout (any kind, on any host) has returned
is served a token of that account.

A remembered token (``token_memory``) is normally served after one read of its
partition's version. A store that can push its changes serves it with no read at all:

- **Watching.** One thread per process keeps a connection on which the store pushes
  every change of a partition (Redis: ``CLIENT TRACKING ... BCAST`` invalidations,
  ``stores/redis_watch.py``; PostgreSQL: ``LISTEN`` and a trigger's ``NOTIFY``,
  ``stores/database_watch.py``). A change forgets the account's remembered tokens.
- **Proof.** Every ``INVALIDATION_WINDOW / 2`` (L/2) the thread sends a query on that
  connection. The store answers in order on one connection, so when the answer to a
  query sent at time *s* arrives, every change the store acknowledged before *s* has
  arrived (and been applied) before it.
- **Serving rule.** A remembered token is served with no read while the newest answer
  is for a query sent less than L ago (this process's monotonic clock), and the token
  was remembered under the current connection (its *epoch*) with no change of its
  account seen since the partition was read.
- **Removals wait.** Every removal returns only L after the store acknowledged its
  delete (``settle``). A call that starts after that needs an answer to a query sent
  after the delete, which comes after the delete's notice: the token is forgotten first.
- **No proof, a read.** A disconnect, a missing answer, a failover, a restart: the epoch
  ends, nothing remembered under it is served without a read, and the version read
  (today's path) serves until the next connection proves itself. SQLite and other
  databases, and ``SERVE_FROM_MEMORY = False``, always read.

What the process keeps: the watch's epoch, the send time of the newest answered query,
and the accounts of the last changes seen (``_RECENT``), beside ``token_memory``'s tokens.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from django.db import transaction

from msal_django.conf import msal_settings
from msal_django.stores import token_memory

logger = logging.getLogger("msal_django.stores")

_RECENT = 4096  # changes remembered to judge a read that started before them
_IDLE_AFTER = 10.0  # seconds without a hit: prove only when asked, or once a second
_IDLE_PROOF = 1.0
_RETRY = (0.05, 5.0)  # reconnection backoff, first and longest (seconds)
_CLOCK_RATE = 1e-3  # margin for the rate difference of two hosts' clocks


class WatchLost(Exception):
    """What a watch's own connection said that ends it: not a primary any more, reads
    gone elsewhere, another backend, a trigger gone."""


class Stamp(NamedTuple):
    """Taken before a partition is read: which connection, and how many changes seen."""

    epoch: int
    seen: int


class Watch(ABC):
    """One process's view of one store's changes (a thread, started on first use)."""

    name = ""

    def __init__(self) -> None:
        self.window = msal_settings.INVALIDATION_WINDOW
        self._lock = threading.Lock()
        self._state: tuple[int, float] = (0, -math.inf)  # (epoch, newest proof's send time)
        self._seen = 0
        self._recent: deque[tuple[int, str | None]] = deque(maxlen=_RECENT)
        self._stop = threading.Event()
        self._asked = threading.Event()
        self._asked_at = -math.inf
        self._proofs = 0  # answered on the current connection
        self._failing = False
        self._pid = 0
        _watches.add(self)

    # -- request threads -----------------------------------------------------------

    def proven_epoch(self) -> int:
        """The epoch whose remembered tokens may be served now with no read, or 0.

        Read *before* looking a token up: a proof read first covers every change that
        arrived before it, and those have already forgotten their tokens."""
        now = time.monotonic()
        self._asked_at = now
        if self._pid != os.getpid():
            self._start()
        epoch, proven_at = self._state
        if epoch and now - proven_at < self.window:
            return epoch
        self._asked.set()  # an idle watch proves itself now
        return 0

    def seen_since(self, moment: float) -> bool:
        """Whether every change the store acknowledged before ``moment`` (this process's
        monotonic clock) has been seen: the newest proof was sent after it."""
        epoch, proven_at = self._state
        return bool(epoch) and proven_at > moment

    def stamp(self) -> Stamp:
        if self._pid != os.getpid():
            self._start()
        with self._lock:
            return Stamp(self._state[0], self._seen)

    def keep(self, stamp: Stamp, home_account_id: str, keep: Callable[[int], None]) -> None:
        """``keep(epoch)``, atomically with the changes arriving: ``epoch`` is the
        stamp's if no change of the account (or of everything) was seen since it was
        taken on this connection, else 0 (the token will need a read)."""
        with self._lock:
            keep(self._trusted(stamp, home_account_id))

    def _trusted(self, stamp: Stamp, home_account_id: str) -> int:
        if not stamp.epoch or stamp.epoch != self._state[0]:
            return 0
        if stamp.seen == self._seen:
            return stamp.epoch
        if not self._recent or self._recent[0][0] > stamp.seen + 1:
            return 0  # changes since the stamp were dropped from _RECENT: unknown
        for seen, account in reversed(self._recent):
            if seen <= stamp.seen:
                break
            if account is None or account == home_account_id:
                return 0
        return stamp.epoch

    # -- the watching thread ---------------------------------------------------------

    def changed(self, home_account_ids: Iterable[str] | None) -> None:
        """The store says these partitions changed (None: all of them, or unknown)."""
        with self._lock:
            for account in [None] if home_account_ids is None else home_account_ids:
                self._seen += 1
                self._recent.append((self._seen, account))
                token_memory.forget(account)

    @abstractmethod
    def connect(self) -> Any:
        """A connection on which every change of a partition is pushed (raises if not)."""

    @abstractmethod
    def prove(self, connection: Any) -> None:
        """One query and its answer on ``connection``; the changes pushed before the
        answer are passed to ``changed`` first. Raises if the proof is not good."""

    @abstractmethod
    def close(self, connection: Any) -> None: ...

    def _start(self) -> None:
        with _start_lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            thread = threading.Thread(target=self._run, name=f"msal_django {self.name} watch")
            thread.daemon = True
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._asked.set()
        self._end_epoch()

    def _end_epoch(self) -> None:
        with self._lock:
            self._state = (0, -math.inf)

    def _run(self) -> None:
        retry = _RETRY[0]
        while not self._stop.is_set():
            connection, self._proofs = None, 0
            try:
                connection = self.connect()
                with self._lock:
                    self._state = (next_epoch(), -math.inf)
                self._prove_until_stopped(connection)
            except Exception as exc:  # any failure: reads serve meanwhile
                self._end_epoch()
                if not self._failing:  # once per outage; the next proof ends it
                    self._failing = True
                    self._log(exc)
                retry = _RETRY[0] if self._proofs else min(retry * 2, _RETRY[1])
                self._stop.wait(retry)
            finally:
                self._end_epoch()
                if connection is not None:
                    self.close(connection)

    def _watching(self) -> None:
        if self._failing:
            self._failing = False
            logger.info("The %s token store is watched again.", self.name)

    def _prove_until_stopped(self, connection: Any) -> None:
        while not self._stop.is_set():
            sent = time.monotonic()
            self.prove(connection)
            with self._lock:
                self._state = (self._state[0], sent)
            self._proofs += 1
            if self._proofs == 1:
                self._watching()
            self._asked.clear()  # before looking: a hit asking from now on is not missed
            if time.monotonic() - self._asked_at < _IDLE_AFTER:
                self._stop.wait(self.window / 2)
            else:  # nobody asked lately: a proof a second, or at once when asked
                self._asked.wait(_IDLE_PROOF)

    def _log(self, exc: Exception) -> None:
        logger.warning(
            "The %s token store is not watched (%s: %s); remembered tokens are served after "
            "a read of their version until it is again.",
            self.name,
            type(exc).__name__,
            exc,
        )


_watches: weakref.WeakSet[Watch] = weakref.WeakSet()
_start_lock = threading.Lock()
_epochs = itertools.count(1)


def next_epoch() -> int:
    """A number no connection of any watch of this process had: a token remembered under
    a watch that was replaced (a settings change) never matches its successor's."""
    with _start_lock:
        return next(_epochs)


def _after_fork() -> None:
    # The thread did not survive the fork; its locks may have been held. The child starts
    # its own watch on first use, under an epoch the parent's tokens do not carry.
    global _start_lock
    _start_lock = threading.Lock()
    for watch in list(_watches):
        watch._lock = threading.Lock()
        watch._state = (0, -math.inf)
        watch._pid = 0


os.register_at_fork(after_in_child=_after_fork)


def client_name() -> str:
    """How a watch's connection names itself to the server (Redis ``CLIENT LIST``,
    PostgreSQL's ``application_name``): one name per process."""
    return f"msal_django-watch-{os.getpid()}"


def configured() -> bool:
    """Whether removals must wait: another process may serve from memory (its own
    ``ACCESS_TOKENS_IN_MEMORY`` may differ from this one's: a worker that keeps none)."""
    return bool(msal_settings.SERVE_FROM_MEMORY)


# -- removals wait L after their delete (see the module docstring) ---------------------

_settling = threading.local()  # depth, and the wait owed at its end: (owed, using)


@contextmanager
def settling() -> Iterator[None]:
    """One wait for every removal in the block (a logout removes several partitions)."""
    depth = getattr(_settling, "depth", 0)
    _settling.depth = depth + 1
    try:
        yield
    finally:
        _settling.depth = depth
        if depth == 0:
            owed, using = getattr(_settling, "owed", (False, None))
            _settling.owed = (False, None)
            if owed:
                _wait(using)


def settle(using: str | None = None) -> None:
    """Return only L after the removal just made, on every host: at once for Redis, after
    the commit of ``using``'s transaction for a database. Within ``settling()``, once at
    its end (after the commit, if any removal was in a database)."""
    if not configured():
        return
    if getattr(_settling, "depth", 0):
        owed_using = getattr(_settling, "owed", (False, None))[1]
        _settling.owed = (True, owed_using or using)
        return
    _wait(using)


def _wait(using: str | None) -> None:
    delay = msal_settings.INVALIDATION_WINDOW * (1 + _CLOCK_RATE) + 0.001
    if using is not None and transaction.get_connection(using).in_atomic_block:
        transaction.on_commit(lambda: time.sleep(delay), using=using)
    else:
        time.sleep(delay)
