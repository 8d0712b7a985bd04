"""What the identity lookup's tests compare: ``MsalBackend.find_identity`` against the ORM
query it replaces (shared by tests/test_identity_lookup.py and the custom user model's
run, tests/custom_user/lookup_checks.py)."""

from __future__ import annotations

import datetime
from typing import Any

from msal_django.models import UserIdentity

USER_FIELD: Any = UserIdentity._meta.get_field("user")


def orm_identity(alias: str, issuer: str, subject: str) -> UserIdentity | None:
    """The ORM's answer: what ``find_identity`` returned before its raw read."""
    return (
        UserIdentity.objects.using(alias)
        .select_related("user")
        .filter(issuer=issuer, subject=subject)
        .first()
    )


def assert_same(fast: UserIdentity | None, orm: UserIdentity | None) -> None:
    """The same instances: classes, database, every concrete field's value and type (aware
    datetimes, bools, UUIDs, JSON), and the user already loaded on the identity."""
    assert (fast is None) == (orm is None), (fast, orm)
    if fast is None or orm is None:
        return
    assert USER_FIELD.is_cached(fast), "the user is not loaded with the identity"
    for ours, theirs in ((fast, orm), (fast.user, orm.user)):
        assert type(ours) is type(theirs)
        assert (ours._state.db, ours._state.adding) == (theirs._state.db, theirs._state.adding)
        for field in type(ours)._meta.concrete_fields:
            mine, expected = getattr(ours, field.attname), getattr(theirs, field.attname)
            assert type(mine) is type(expected), (field.name, mine, expected)
            assert mine == expected, field.name
            if isinstance(mine, datetime.datetime):
                assert mine.utcoffset() == expected.utcoffset(), field.name
