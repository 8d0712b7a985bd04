"""``MsalBackend.find_identity`` reads with one cached SQL statement instead of the ORM
(msal_django.signin.identity_lookup): the same instances as the ORM query, on the primary the
router names, with the user loaded; inactive and deleted users as before; subclasses'
overrides still the one hook; database errors as the ORM raises them; a custom user
model (a child run with its own ``AUTH_USER_MODEL``). And ``bearer.validate`` parses the
header of a token it admitted once only: every check still runs on every request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connections, transaction
from django.test import Client
from django.utils import timezone

from msal_django import jwks
from msal_django.backends import MsalBackend
from msal_django.models import UserIdentity
from msal_django.webapi import bearer

from .conftest import CLIENT_ID
from .identity_checks import assert_same, orm_identity

TID = "11111111-1111-1111-1111-111111111111"
SPA_ID = "msal-django-tests-spa"
ROOT = Path(__file__).resolve().parent.parent
BOTH = pytest.mark.django_db(databases=["default", "replica"])


def claims(oid="aaaa", **extra):
    return {"oid": oid, "tid": TID, "sub": f"sub-{oid}", "email": f"{oid}@contoso.example", **extra}


class Api:
    """Calls ``/api/me/`` (``require_token``) or ``/drf/me/`` with a user's token."""

    def __init__(self, idp):
        self.idp = idp

    def __call__(self, username="alice", path="/api/me/"):
        token = self.token(username)
        return Client().get(path, HTTP_AUTHORIZATION=f"Bearer {token}")

    def token(self, username="alice"):
        return self.idp.access_token_for(username, SPA_ID, [f"api://{CLIENT_ID}/access_as_user"])

    def identity(self, username="alice"):
        """The (issuer, subject) pair the backend links ``username`` by."""
        person = self.idp.users[username]
        return person.tid, person.oid


@pytest.fixture
def api(idp):
    idp.register_client(SPA_ID, "spa-secret-0123456789")
    jwks.reset()
    yield Api(idp)
    jwks.reset()


# -- the same answer as the ORM query ---------------------------------------------------


@pytest.mark.django_db
def test_the_lookup_returns_what_the_orm_query_returns(django_assert_num_queries):
    user = MsalBackend().authenticate(None, msal_claims=claims(name="Zoë Ñandú"))
    user.is_staff, user.last_login = True, timezone.now()
    user.save()
    with django_assert_num_queries(1):  # the identity and its user, one read
        found = MsalBackend().find_identity(TID, "aaaa")
        assert found is not None
        assert found.user.first_name == "Zoë"
    assert_same(found, orm_identity("default", TID, "aaaa"))
    assert found.user.is_staff is True
    assert found.user.last_login.tzinfo is not None


@pytest.mark.django_db
def test_a_field_selected_through_sql_of_its_own_is_read_by_the_orm(monkeypatch):
    """GeoDjango's geometries (and some third-party fields) wrap their column in SQL
    (``select_format``): the raw read cannot, so such a user model is the ORM's."""
    from django.db.models import BooleanField

    from msal_django.signin import identity_lookup

    MsalBackend().authenticate(None, msal_claims=claims())
    monkeypatch.setattr(BooleanField, "select_format", lambda self, c, sql, params: (sql, params))
    monkeypatch.setattr(identity_lookup, "_statements", type(identity_lookup._statements)())
    connections["default"].ensure_connection()
    found = MsalBackend().find_identity(TID, "aaaa")
    assert identity_lookup._statements[connections["default"]] is None  # the ORM read it
    assert found is not None
    assert_same(found, orm_identity("default", TID, "aaaa"))


@pytest.mark.django_db
def test_only_the_exact_issuer_and_subject_match():
    MsalBackend().authenticate(None, msal_claims=claims("aaaa"))
    backend = MsalBackend()
    for issuer, subject in ((TID, "bbbb"), ("other", "aaaa"), (TID, "AAAA"), (TID, "aaaa ")):
        assert backend.find_identity(issuer, subject) is None
        assert orm_identity("default", issuer, subject) is None
    assert backend.find_identity(TID, "aaaa") is not None


@pytest.mark.django_db
def test_a_sign_in_saves_the_identity_it_found():
    MsalBackend().authenticate(None, msal_claims=claims())
    before = UserIdentity.objects.get().last_login_at
    again = MsalBackend().authenticate(None, msal_claims=claims(name="New Name"))
    assert UserIdentity.objects.get().last_login_at > before
    assert get_user_model().objects.get(pk=again.pk).last_name == "Name"


# -- inactive and deleted users --------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/me/", "/drf/me/"])
def test_an_inactive_user_is_refused_by_the_api(api, path):
    assert api(path=path).status_code == 200
    get_user_model().objects.update(is_active=False)
    found = MsalBackend().find_identity(*api.identity())
    assert found is not None
    assert found.user.is_active is False
    refused = api(path=path)
    assert refused.status_code == 403
    assert refused.json().get("error", refused.json().get("detail")) is not None


@pytest.mark.django_db
def test_a_deleted_user_is_not_found_and_comes_back_as_a_new_user(api, settings):
    first = api()
    assert first.status_code == 200
    user = get_user_model().objects.get()
    user.delete()  # the identity goes with it
    issuer, subject = api.identity()
    assert MsalBackend().find_identity(issuer, subject) is None
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "CREATE_USERS": False}
    assert api().status_code == 403
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "CREATE_USERS": True}
    again = api()
    assert again.json() == first.json()
    assert get_user_model().objects.get().pk != user.pk


# -- find_identity stays the one hook ---------------------------------------------------


class EveryoneIsBob(MsalBackend):
    """An override that ignores the caller: the API must use it, not a fast path of ours."""

    def find_identity(self, issuer, subject):
        return UserIdentity.objects.select_related("user").get(user__username="bob")


class Counting(MsalBackend):
    calls: list[tuple[str, str]] = []

    def find_identity(self, issuer, subject):
        self.calls.append((issuer, subject))
        return super().find_identity(issuer, subject)


@pytest.mark.django_db
def test_an_overriding_backend_decides_who_the_caller_is(api, settings):
    bob = get_user_model().objects.create_user("bob")
    UserIdentity.objects.create(user=bob, issuer="elsewhere", subject="bob")
    settings.AUTHENTICATION_BACKENDS = ["tests.test_identity_lookup.EveryoneIsBob"]
    assert api().json()["user"] == "bob"
    assert api(path="/drf/me/").json()["user"] == "bob"


@pytest.mark.django_db
def test_an_override_calling_super_gets_the_identity(api, settings):
    settings.AUTHENTICATION_BACKENDS = ["tests.test_identity_lookup.Counting"]
    Counting.calls.clear()
    assert api().status_code == 200  # not found, then again in authenticate, and created
    assert api().json()["user"] == "alice@example.com"  # found
    assert Counting.calls == [api.identity()] * 3


# -- the primary, as the router names it ------------------------------------------------


@BOTH
def test_the_identity_is_read_where_the_router_sends_writes(api, settings):
    issuer, subject = api.identity()
    decoy = get_user_model().objects.using("default").create(username="decoy")
    UserIdentity.objects.using("default").create(user=decoy, issuer=issuer, subject=subject)
    settings.DATABASE_ROUTERS = ["tests.routers.OtherPrimaryRouter"]
    first = api()
    assert first.json()["user"] == "alice@example.com"  # created on "replica"
    assert api().json() == first.json()
    assert get_user_model().objects.using("replica").count() == 1
    found = MsalBackend().find_identity(issuer, subject)
    assert found is not None
    assert found.user.username == "alice@example.com"
    assert (found._state.db, found.user._state.db) == ("replica", "replica")
    assert_same(found, orm_identity("replica", issuer, subject))


@BOTH
def test_a_lagging_replica_does_not_hide_the_identity(api, settings):
    assert api().status_code == 200  # the user and identity, on "default"
    settings.DATABASE_ROUTERS = ["tests.routers.LaggingReplicaRouter"]
    assert not UserIdentity.objects.using("replica").exists()
    found = MsalBackend().find_identity(*api.identity())
    assert found is not None
    assert found._state.db == "default"
    assert api().json()["user"] == "alice@example.com"
    assert get_user_model().objects.using("default").count() == 1


# -- database errors as the ORM raises them ---------------------------------------------


@pytest.mark.django_db
def test_a_database_error_is_raised_as_the_orm_raised_it(api):
    assert api().status_code == 200
    issuer, subject = api.identity()
    connection = connections["default"]
    table = UserIdentity._meta.db_table
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {quote(table)} RENAME TO {quote(table + '_gone')}")
        raised = []
        for read in (
            lambda: MsalBackend().find_identity(issuer, subject),
            lambda: orm_identity("default", issuer, subject),
        ):
            with pytest.raises(DatabaseError) as error, transaction.atomic():
                read()
            raised.append(type(error.value))
        with transaction.atomic():
            # Not a refusal and not a 500: the 503 answer, to be retried.
            assert api().status_code == 503
        cursor.execute(f"ALTER TABLE {quote(table + '_gone')} RENAME TO {quote(table)}")
    assert raised[0] is raised[1]
    assert api().status_code == 200


# -- a custom user model: a child run with its own AUTH_USER_MODEL ----------------------


@pytest.mark.parametrize("model", ["custom_user.Person", "custom_user.Member"])
def test_a_custom_user_model(model):
    """``Person``: UUID key, keyword and spaced table and column names, JSON; ``Member``:
    a user model over two tables, which the ORM query reads."""
    env = {
        **os.environ,
        "MSAL_DJANGO_TEST_USER_MODEL": model,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/custom_user/lookup_checks.py",
            "-q",
            "--ds",
            "tests.custom_user.settings",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "5 passed" in result.stdout


# -- the token header parsed once, every check still made -------------------------------


@pytest.mark.django_db
def test_a_remembered_header_skips_no_check(api, settings):
    bearer._valid_headers.clear()
    token = api.token()
    bearer.validate(token)
    assert len(bearer._valid_headers) == 1
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    with pytest.raises(bearer.InvalidBearerToken):
        bearer.validate(forged)
    assert len(bearer._valid_headers) == 1  # only tokens that passed are remembered
    configured = settings.MSAL_DJANGO
    settings.MSAL_DJANGO = {**configured, "API_AUDIENCES": ["api://someone-else"]}
    with pytest.raises(bearer.InvalidBearerToken, match="Audience"):
        bearer.validate(token)
    settings.MSAL_DJANGO = {**configured, "ALLOWED_TENANTS": ["another-tenant"]}
    with pytest.raises(bearer.InvalidBearerToken, match="ALLOWED_TENANTS"):
        bearer.validate(token)
    settings.MSAL_DJANGO = configured
    assert bearer.validate(token).claims["oid"] == api.identity()[1]


def test_the_remembered_headers_are_bounded(monkeypatch):
    monkeypatch.setattr(bearer, "VALID_HEADERS_MAX", 2)
    monkeypatch.setattr(bearer, "_valid_headers", {b"1": {}, b"2": {}})
    bearer._remember(b"3", {"alg": "RS256"})
    assert bearer._valid_headers == {b"3": {"alg": "RS256"}}
