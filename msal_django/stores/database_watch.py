"""The database store's watch on PostgreSQL (``stores/watch.py``): ``LISTEN``/``NOTIFY``.

Migration 0003 puts a trigger on the ``CachedAccount`` table that sends
``pg_notify('msal_django_cachedaccount', <home_account_id>)`` for every inserted, updated
or deleted row (and an empty payload, meaning every row, on ``TRUNCATE``), in the
transaction that changes it: any way a row goes (a logout, ``msal_purge``, a deleted
user's cascade, the admin, raw SQL) is seen.

The watch holds one connection of its own (psycopg 3, autocommit) that ``LISTEN``s on
that channel, and proves itself with ``SELECT pg_backend_pid()`` (and the count of its
triggers still enabled):

- PostgreSQL delivers a notification when its transaction commits, before the commit
  returns to the notifier ("NOTIFY": "if a NOTIFY is executed inside a transaction, the
  notify events are not delivered until and unless the transaction is committed"); the
  listening backend, signalled at that commit, sends the pending notifications before it
  reports ready for its next query (src/backend/tcop/postgres.c, ``PostgresMain``:
  "if any notifies were received during the just-finished transaction, they'll be seen
  by the client before ReadyForQuery is"). psycopg 3 hands every notification it reads
  to the handler before it returns the query's result. So the answer to a query sent
  after a delete's commit comes after the delete's notification.
- The backend pid must stay the one that ran ``LISTEN``: behind a pooler in transaction
  mode the query could reach a backend that is not listening, and the watch ends.

Other databases (SQLite, MySQL) and psycopg 2 have no watch: every hit reads.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.db import connections, router

from msal_django.conf import SETTINGS_READ, msal_settings, resets_on_change
from msal_django.stores.watch import Stamp, Watch, WatchLost, client_name

logger = logging.getLogger("msal_django.stores")

CHANNEL = "msal_django_cachedaccount"
TRIGGER = "msal_django_cachedaccount_notify"
TRIGGERS = (TRIGGER, f"{TRIGGER}_truncate")
_TIMEOUT = 2  # seconds a proof may take before the watch ends


class DatabaseWatch(Watch):
    name = "database"

    def __init__(self, alias: str) -> None:
        from msal_django.models import CachedAccount

        super().__init__()
        self.alias = alias
        self._backend = 0
        self._proof_params = (list(TRIGGERS), CachedAccount._meta.db_table)

    def connect(self) -> Any:
        import psycopg

        params = dict(connections[self.alias].get_connection_params())
        for django_only in ("cursor_factory", "context", "prepare_threshold"):
            params.pop(django_only, None)
        params.setdefault("connect_timeout", _TIMEOUT)
        params["application_name"] = client_name()
        params["options"] = f"{params.get('options', '')} -c statement_timeout={_TIMEOUT}s"
        connection = psycopg.connect(**params, autocommit=True)
        try:
            self._backend, triggers = self._answer(connection)
            if triggers != len(TRIGGERS):
                raise WatchLost(f"the trigger {TRIGGER} is missing (run migrate: msal_django 0003)")
            connection.add_notify_handler(self._notified)
            connection.execute(f"LISTEN {CHANNEL}")
        except BaseException:
            connection.close()
            raise
        return connection

    def prove(self, connection: Any) -> None:
        backend, triggers = self._answer(connection)
        # The notifications sent before the answer have been handled by now.
        if backend != self._backend:
            raise WatchLost("the connection now reaches another backend (a pooler?)")
        if triggers != len(TRIGGERS):
            raise WatchLost(f"the trigger {TRIGGER} was disabled or dropped")

    def _answer(self, connection: Any) -> tuple[int, int]:
        row = connection.execute(PROOF, self._proof_params).fetchone()
        return int(row[0]), int(row[1])

    def stamp(self) -> Stamp:
        stamp = super().stamp()
        if _snapshot_may_be_older(connections[self.alias]):
            # A REPEATABLE READ or SERIALIZABLE transaction reads its first snapshot: a
            # read in it may predate changes already seen, so it can trust nothing.
            return Stamp(0, stamp.seen)
        return stamp

    def close(self, connection: Any) -> None:
        connection.close()

    def _notified(self, notify: Any) -> None:
        self.changed([notify.payload] if notify.payload else None)


# The proof: the backend, and the triggers still there and firing (``O``: on origin
# writes; ``A``: always). A writer with session_replication_role = replica is not seen.
PROOF = (
    "SELECT pg_backend_pid(), (SELECT count(*) FROM pg_trigger WHERE tgname = ANY(%s) "
    "AND tgenabled IN ('O', 'A') AND tgrelid = to_regclass(%s))"
)


def _snapshot_may_be_older(connection: Any) -> bool:
    if not connection.in_atomic_block:
        return False
    level = connection.settings_dict["OPTIONS"].get("isolation_level")
    return level is not None and int(level) > 2  # psycopg's IsolationLevel.READ_COMMITTED


_watches: dict[str, DatabaseWatch | None] = {}
_lock = threading.Lock()


def current() -> DatabaseWatch | None:
    """This process's watch of the database store, or None (off, or not PostgreSQL with
    psycopg 3)."""
    from msal_django.models import CachedAccount

    alias = router.db_for_write(CachedAccount)
    try:
        return _watches[alias]
    except KeyError:
        pass
    with _lock:  # one watch per alias, however many requests find none at once
        if alias not in _watches:
            _watches[alias] = _new_watch(alias)
        return _watches[alias]


def _new_watch(alias: str) -> DatabaseWatch | None:
    watch = None
    if (
        msal_settings.SERVE_FROM_MEMORY
        and msal_settings.ACCESS_TOKENS_IN_MEMORY > 0
        and connections[alias].vendor == "postgresql"
    ):
        from django.db.backends.postgresql.psycopg_any import is_psycopg3

        if is_psycopg3:
            watch = DatabaseWatch(alias)
        else:
            logger.info("psycopg 2 cannot watch the token store; every hit reads.")
    return watch


@resets_on_change("DATABASES", "DATABASE_ROUTERS", *SETTINGS_READ)
def reset() -> None:
    with _lock:
        for watch in _watches.values():
            if watch is not None:
                watch.stop()
        _watches.clear()
