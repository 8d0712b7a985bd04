"""The read behind ``MsalBackend.find_identity``: a ``UserIdentity`` and its user.

It is the query ``UserIdentity.objects.using(alias).select_related("user").filter(
issuer=..., subject=...)`` compiles to, built once per connection from the models'
``_meta`` (tables, columns, the foreign key's target; every identifier quoted by the
connection) and run as raw SQL: the ORM's compile costs several times the indexed read
itself, on every API request. Each row becomes real model instances as the ORM makes
them: the database converters Django's compiler applies (aware datetimes, booleans,
UUIDs, JSON, a field's ``from_db_value``), ``Model.from_db``, and the user set as the
identity's cached ``user``.

A user model spread over several tables (multi-table inheritance) is read with the ORM
query itself.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.db import connections
from django.db.models import Field

from msal_django.models import UserIdentity
from msal_django.stores.rows import fetch_one

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models import Model

Converter = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True, slots=True)
class _Statement:
    """What one connection needs to run the read and build the instances."""

    sql: str
    identity_names: tuple[str, ...]
    user_model: type[Model]
    user_names: tuple[str, ...]
    # (column position, the converters, the column expression they are given)
    converters: tuple[tuple[int, tuple[Converter, ...], Any], ...]


# Per connection object: converters are bound to the connection (one per thread).
_statements: weakref.WeakKeyDictionary[BaseDatabaseWrapper, _Statement | None] = (
    weakref.WeakKeyDictionary()
)


def find_identity(alias: str, issuer: str, subject: str) -> UserIdentity | None:
    """The ``UserIdentity`` of (issuer, subject) on ``alias``, its ``user`` loaded."""
    connection = connections[alias]
    try:
        statement = _statements[connection]
    except KeyError:
        statement = _statements[connection] = _statement(connection)
    if statement is None:
        return (
            UserIdentity.objects.using(alias)
            .select_related("user")
            .filter(issuer=issuer, subject=subject)
            .first()
        )
    params = (
        _ISSUER.get_db_prep_value(issuer, connection, prepared=False),
        _SUBJECT.get_db_prep_value(subject, connection, prepared=False),
    )
    row = fetch_one(alias, statement.sql, params)
    if row is None:
        return None
    values = list(row)
    for position, converters, column in statement.converters:
        value = values[position]
        for converter in converters:
            value = converter(value, column, connection)
        values[position] = value
    split = len(statement.identity_names)
    identity = UserIdentity.from_db(alias, statement.identity_names, values[:split])
    user = statement.user_model.from_db(alias, statement.user_names, values[split:])
    _USER.set_cached_value(identity, user)
    return identity


_USER = cast("Any", UserIdentity._meta.get_field("user"))
_ISSUER = cast("Field[Any, Any]", UserIdentity._meta.get_field("issuer"))
_SUBJECT = cast("Field[Any, Any]", UserIdentity._meta.get_field("subject"))


def _statement(connection: BaseDatabaseWrapper) -> _Statement | None:
    """The SQL and converters for ``connection``; None when only the ORM can read it."""
    user_model: type[Model] = _USER.remote_field.model
    user_meta = user_model._meta
    target = _USER.target_field
    identity_fields = _fields(UserIdentity)
    user_fields = _fields(user_model)
    if (
        identity_fields is None
        or user_fields is None
        or target.model._meta.concrete_model is not user_meta.concrete_model
    ):
        return None  # a column on a parent table: the ORM joins it
    quote = connection.ops.quote_name
    identity_table = quote(UserIdentity._meta.db_table)
    user_table = quote(user_meta.db_table)
    selected = [f"{identity_table}.{quote(f.column)}" for f in identity_fields]
    selected += [f"{user_table}.{quote(f.column)}" for f in user_fields]
    # Only quoted identifiers from the models are interpolated; values are parameters.
    sql = (
        f"SELECT {', '.join(selected)} FROM {identity_table} "  # noqa: S608
        f"INNER JOIN {user_table} "
        f"ON ({identity_table}.{quote(_USER.column)} = {user_table}.{quote(target.column)}) "
        f"WHERE ({identity_table}.{quote(str(_ISSUER.column))} = %s "
        f"AND {identity_table}.{quote(str(_SUBJECT.column))} = %s)"
    )
    converters = []
    columns = [(f, UserIdentity._meta.db_table) for f in identity_fields] + [
        (f, user_meta.db_table) for f in user_fields
    ]
    for position, (field, table) in enumerate(columns):
        # As the compiler does for a selected column: the backend's, then the field's.
        column = field.get_col(table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((position, tuple(found), column))
    return _Statement(
        sql=sql,
        identity_names=tuple(f.attname for f in identity_fields),
        user_model=user_model,
        user_names=tuple(f.attname for f in user_fields),
        converters=tuple(converters),
    )


def _fields(model: type[Model]) -> Sequence[Any] | None:
    """The model's concrete fields, in ``from_db``'s order; None if any lives on
    another table (a parent's, under multi-table inheritance)."""
    meta = model._meta
    fields = list(meta.concrete_fields)
    if any(f.model._meta.concrete_model is not meta.concrete_model for f in fields):
        return None
    # A field that selects through SQL of its own (GeoDjango's geometries) is the ORM's.
    if any(type(f).select_format is not Field.select_format for f in fields):
        return None
    return fields
