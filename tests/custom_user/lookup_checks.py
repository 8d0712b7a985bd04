"""The identity lookup with a custom user model; run by tests/test_identity_lookup.py in
a child pytest with ``--ds tests.custom_user.settings`` (not collected by the suite:
``AUTH_USER_MODEL`` there is ``auth.User``)."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from msal_django import jwks
from msal_django.backends import MsalBackend
from msal_django.models import UserIdentity
from msal_django.signin import identity_lookup
from tests.conftest import CLIENT_ID
from tests.identity_checks import assert_same, orm_identity

pytestmark = pytest.mark.django_db

TID = "11111111-1111-1111-1111-111111111111"
SPA_ID = "msal-django-tests-spa"
MULTI_TABLE = settings.AUTH_USER_MODEL == "custom_user.Member"


def claims(oid: str = "aaaa") -> dict[str, str]:
    return {"oid": oid, "tid": TID, "sub": f"sub-{oid}", "email": f"{oid}@contoso.example"}


def test_the_user_model_is_the_custom_one():
    assert get_user_model()._meta.label == settings.AUTH_USER_MODEL != "auth.User"


def test_the_lookup_is_the_orm_querys_answer(django_assert_num_queries):
    user = MsalBackend().authenticate(None, msal_claims=claims())
    assert isinstance(user.pk, uuid.UUID)
    user.profile = {"teams": ["a", "é"], "n": 1}
    user.save()
    with django_assert_num_queries(1):
        found = MsalBackend().find_identity(TID, "aaaa")
        assert found is not None
        assert found.user.pk == user.pk
        assert found.user.profile == {"teams": ["a", "é"], "n": 1}
    assert_same(found, orm_identity("default", TID, "aaaa"))
    assert MsalBackend().find_identity(TID, "bbbb") is None


def test_an_inactive_custom_user_is_refused():
    user = MsalBackend().authenticate(None, msal_claims=claims())
    get_user_model()._default_manager.filter(pk=user.pk).update(is_active=False)
    found = MsalBackend().find_identity(TID, "aaaa")
    assert found is not None
    assert found.user.is_active is False
    assert_same(found, orm_identity("default", TID, "aaaa"))
    assert MsalBackend().authenticate(None, msal_claims=claims()) is None


def test_the_raw_read_is_used_unless_the_user_model_spans_tables():
    UserIdentity.objects.count()  # the connection is open
    statement = identity_lookup._statement(connection)
    if MULTI_TABLE:
        assert statement is None  # the ORM joins the parent table
    else:
        assert statement is not None
        assert connection.ops.quote_name("order") in statement.sql


def test_the_api_admits_the_custom_user_and_refuses_them_inactive(idp):
    idp.register_client(SPA_ID, "spa-secret-0123456789")
    jwks.reset()
    token = idp.access_token_for("alice", SPA_ID, [f"api://{CLIENT_ID}/access_as_user"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    first = Client().get("/api/me/", **headers)
    assert first.status_code == 200, first.content
    again = Client().get("/api/me/", **headers)
    assert again.json() == first.json()
    assert get_user_model()._default_manager.count() == 1
    get_user_model()._default_manager.update(is_active=False)
    refused = Client().get("/api/me/", **headers)
    assert refused.status_code == 403
    assert refused.json()["error"] == "access_denied"
    jwks.reset()
