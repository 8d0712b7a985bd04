"""One row read on a hot path (a token hit, the newest account of a user), as cheaply as
Django allows without hiding it from anyone who watches queries.

The SQL is the caller's, compiled once per database (the ORM's compile step costs more
than an indexed read). It runs on the backend's own DB-API cursor (``create_cursor``,
which keeps the backend's placeholder conversion and type handling) under Django's
error wrapping, skipping only ``CursorWrapper``: several microseconds per call, about a
tenth of a hit. Whenever Django's wrapper would do more than pass the call through, it
is used instead: query logging (``DEBUG``, ``assertNumQueries``,
``CaptureQueriesContext``, the debug toolbar), ``connection.execute_wrapper`` hooks
(APM and query-counting tools), a tool that patched Django's cursor classes instead
(Sentry, ddtrace), a connection not yet open or due a health check, and a
broken transaction (Django raises its own error).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.utils.asyncio import async_unsafe


@async_unsafe
def fetch_one(alias: str, sql: str, params: Sequence[Any]) -> Any:
    """The first row of ``sql`` on database ``alias``, or None. Raises Django's
    ``DatabaseError`` subclasses, like a cursor does."""
    connection: Any = connections[alias]  # the stubs lack the health-check attributes
    if (
        _instrumented(connection)
        or connection.connection is None
        or connection.queries_logged
        or connection.execute_wrappers
        or connection.needs_rollback
        # CONN_HEALTH_CHECKS: Django checks the connection at a request's first query.
        or (connection.health_check_enabled and not connection.health_check_done)
    ):
        with connection.cursor() as wrapped:
            wrapped.execute(sql, params)
            return wrapped.fetchone()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        cursor = connection.create_cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchone()
        finally:
            with contextlib.suppress(connection.Database.Error):  # as CursorWrapper does
                cursor.close()


def _instrumented(connection: Any) -> bool:
    """Whether a tool patched Django's cursor path rather than using ``execute_wrapper``
    (Sentry patches ``CursorWrapper.execute``, ddtrace the connection's ``cursor``)."""
    execute = CursorWrapper.execute
    return (
        execute.__module__ != "django.db.backends.utils"
        or execute.__qualname__ != "CursorWrapper.execute"
        or "cursor" in vars(connection)
        or "make_cursor" in vars(connection)
        or type(connection).make_cursor is not BaseDatabaseWrapper.make_cursor
    )
