"""The hot-path reads (a token hit's version, the user's newest account) skip Django's
cursor wrapper only when nothing watches queries: logging, execute wrappers and error
translation still see them."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

import msal_django
from msal_django.models import CachedAccount
from msal_django.stores.rows import fetch_one

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("idp")]

SCOPES = ["User.Read"]


@pytest.fixture
def alice(sign_in, settings) -> Any:
    """Alice signed in and her token served once, so the next call is a hit that reads
    its version (hits with no read are tests/test_serve_from_memory.py's)."""
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "SERVE_FROM_MEMORY": False}
    client = Client()
    sign_in(client, "alice")
    user = CachedAccount.objects.get().user
    assert user is not None
    msal_django.get_token_for_user(user, SCOPES)
    return user


def test_a_hit_runs_on_the_backends_own_cursor(alice, monkeypatch):
    wrapped: list[object] = []
    prepare = connection._prepare_cursor  # what Django's cursor() wraps the cursor with
    monkeypatch.setattr(connection, "_prepare_cursor", lambda c: wrapped.append(c) or prepare(c))
    token = msal_django.get_token_for_user(alice, SCOPES)
    assert token
    assert wrapped == []  # the newest-account read and the version read, both unwrapped


def test_query_logging_sees_the_hot_reads(alice):
    with CaptureQueriesContext(connection) as queries:
        msal_django.get_token_for_user(alice, SCOPES)
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) == 2
    assert 'ORDER BY "updated_at" DESC' in sql[0]  # the user's newest account
    assert sql[1].startswith('SELECT "version" FROM')


def test_execute_wrappers_see_the_hot_reads(alice):
    seen: list[str] = []

    def watch(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        token = msal_django.get_token_for_user(alice, SCOPES)
    assert token
    assert len(seen) == 2
    assert any('SELECT "version" FROM' in sql for sql in seen)


def test_a_tool_patching_djangos_cursor_sees_the_hot_reads(alice, monkeypatch):
    """Sentry's Django integration patches ``CursorWrapper.execute`` itself."""
    from django.db.backends.utils import CursorWrapper

    seen: list[str] = []
    execute = CursorWrapper.execute

    def patched(self, sql, params=None):
        seen.append(sql)
        return execute(self, sql, params)

    monkeypatch.setattr(CursorWrapper, "execute", patched)
    assert msal_django.get_token_for_user(alice, SCOPES)
    assert len(seen) == 2
    assert any('SELECT "version" FROM' in sql for sql in seen)


def test_a_failing_read_raises_djangos_database_error():
    connection.ensure_connection()
    with pytest.raises(DatabaseError) as raised:
        fetch_one("default", "SELECT missing FROM no_such_table WHERE 1 = %s", (1,))
    assert type(raised.value).__module__ == "django.db.utils"  # translated, not the driver's


@pytest.mark.django_db(transaction=True)
def test_a_read_opens_the_connection_when_none_is_open():
    connection.close()
    assert connection.connection is None
    row = fetch_one("default", "SELECT 1 WHERE 1 = %s", (1,))
    assert row == (1,)
