"""Hostile input on the web API and the authorization it does: bearer tokens whose claims
have every wrong type, DRF permission combinations, on-behalf-of partitions, group
overage on a first API call, and database failures. Every case: never a 500, the RFC 6750
answer, no secret in any log record or response (``watch``), and no other user's data
touched.

Runs on SQLite and PostgreSQL (``MSAL_DJANGO_TEST_DB``); cases that reach a token store
run on the database store and the Redis store, on plain views and DRF views.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.test import Client
from django.urls import include, path
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import msal_django
from msal_django import msal_app
from msal_django.api import require_token
from msal_django.drf import BearerTokenAuthentication, HasRoles, HasScopes
from msal_django.models import CachedAccount, UserIdentity
from msal_django.signout.removal import caller_account_id, obo_partition_id
from msal_django.stores import get_store
from tests.conftest import CLIENT_ID, SPA_ID
from tests.hostile import everyone
from tests.test_protected_api import ACCESS_AS_USER, OBO_GRANT, app_token, resigned

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls(__name__),
    pytest.mark.usefixtures("api_clients"),
]

GRAPH_SCOPE = "GroupMember.Read.All"
EDITORS = "a1b2c3d4-0000-4000-8000-000000000001"
OVERAGE = {
    "_claim_names": {"groups": "src1"},
    "_claim_sources": {"src1": {"endpoint": "https://graph.windows.net/x/getMemberObjects"}},
}


def _who(request) -> dict:
    user = request.user
    return {"user": user.get_username(), "app": bool(getattr(user, "is_app", False))}


def _view(*permissions):
    class View(APIView):
        authentication_classes = [BearerTokenAuthentication]
        permission_classes = list(permissions)
        renderer_classes = [JSONRenderer]
        required_scopes = ["access_as_user"]
        required_roles = ["Tasks.Read.All"]

        def get(self, request: Request) -> Response:
            return Response(_who(request))

    return View.as_view()


@require_token(scopes=["access_as_user"])
def graph_me(request: HttpRequest) -> JsonResponse:
    """Calls the Graph-like API on behalf of the caller (never a token in the answer)."""
    token = msal_django.get_token_on_behalf_of(request, ["User.Read"])
    answer = msal_app.http_client().get(
        request.GET["api"], headers={"Authorization": f"Bearer {token}"}
    )
    return JsonResponse({"graph": answer.json(), "status": answer.status_code})


urlpatterns = [
    path("drf/scopes-or-roles/", _view(HasScopes | HasRoles)),
    path("drf/roles-or-scopes/", _view(HasRoles | HasScopes)),
    path("drf/scopes-and-roles/", _view(HasScopes & HasRoles)),
    path("drf/scopes-or-authenticated/", _view(HasScopes | IsAuthenticated)),
    path("drf/not-scopes/", _view(~HasScopes)),
    path("obo/graph-me/", graph_me),
    path("", include("tests.urls")),
]

PLAIN_AND_DRF = ["/api/me/", "/drf/me/"]


def call(watch, path, token=None):
    """The response, checked by ``watch``: never a 500 (a 503 is an answer here)."""
    headers = {} if token is None else {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    return watch.response(Client().get(path, **headers), unavailable=True)


def user_token(idp, username="alice", **changes):
    token = idp.access_token_for(username, SPA_ID, [ACCESS_AS_USER])
    return resigned(idp, token, **changes) if changes else token


@pytest.fixture
def residents(idp):
    """Alice and Bob as a sign-in leaves them (users, identities, cached accounts), made
    directly: these cases are refused before any query, on any store."""
    for name in ("alice", "bob"):
        person = idp.users.get(name) or idp.add_user(name)
        user = get_user_model().objects.create(username=f"{name}@example.com")
        UserIdentity.objects.create(user=user, issuer=person.tid, subject=person.oid)
        CachedAccount.objects.create(
            user=user, home_account_id=f"{person.oid}.{person.tid}", version="v1", data=b"x"
        )


def assert_untouched(before) -> None:
    """Every row there before is there after, as it was (a first call may add its own)."""
    for rows_before, rows_after in zip(before, everyone(), strict=True):
        assert set(rows_before) <= set(rows_after)


def assert_unavailable(path, response) -> None:
    assert response.status_code == 503
    if not path.startswith("/drf/"):  # DRF's own body: {"detail": ...}
        assert response.json() == {"error": "temporarily_unavailable"}


def assert_invalid_token(response) -> None:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


# -- claims of every type: a 401, never a 500, before any query ------------------------

NOT_A_STRING = {
    "a list": ["x"],
    "an object": {"a": "b"},
    "a number": 7,
    "true": True,
    "empty": "",
    "a NUL byte": "abc\x00def",
    "a newline": "abc\r\nforged log line",
    "256 characters": "a" * 256,
    "100 KB": "a" * 100_000,
}
IDENTIFIER_CLAIMS = ["oid", "sub", "tid", "iss", "azp", "appid"]


# PyJWT will not sign an iss that is not a string (nor would the provider).
IDENTIFIER_CASES = [
    (claim, value)
    for claim in IDENTIFIER_CLAIMS
    for value in sorted(NOT_A_STRING)
    if not (claim == "iss" and not isinstance(NOT_A_STRING[value], str))
]


@pytest.mark.parametrize(("claim", "value"), IDENTIFIER_CASES)
@pytest.mark.parametrize("path", PLAIN_AND_DRF)
def test_an_identifier_claim_that_is_not_a_short_string_is_refused(
    idp, watch, residents, path, claim, value
):
    token = user_token(idp, "carol", **{claim: NOT_A_STRING[value]})
    before = everyone()
    response = call(watch, path, token)
    assert_invalid_token(response)
    assert not UserIdentity.objects.filter(subject__startswith="a" * 50).exists()
    assert_untouched(before)


OTHER_CLAIMS: dict[str, list[object]] = {
    "scp": [["access_as_user"], {"access_as_user": True}, 1],
    "roles": ["Tasks.Read.All", [1], {"r": 1}],
    "aud": [[], {"a": 1}, 5],
    "exp": ["soon", [1], {"a": 1}],
    "nbf": ["now", [1]],
    "iat": ["then", {"a": 1}],
}


@pytest.mark.parametrize(
    ("claim", "index"), [(c, i) for c, values in OTHER_CLAIMS.items() for i in range(len(values))]
)
@pytest.mark.parametrize("path", PLAIN_AND_DRF)
def test_other_claims_of_the_wrong_type_are_refused(idp, watch, residents, path, claim, index):
    token = user_token(idp, "carol", **{claim: OTHER_CLAIMS[claim][index]})
    before = everyone()
    assert_invalid_token(call(watch, path, token))
    assert_untouched(before)


@pytest.mark.parametrize(
    "changes",
    [
        {"azp": ["msal-django-tests-spa"]},
        {"azp": {"id": "msal-django-tests-spa"}},
        {"azp": None, "appid": ["msal-django-tests-spa"]},
        {"azp": None, "appid": 12},
    ],
    ids=["azp list", "azp object", "appid list", "appid number"],
)
@pytest.mark.parametrize("path", PLAIN_AND_DRF)
def test_a_client_id_that_is_not_a_string_is_refused(idp, watch, path, changes):
    assert_invalid_token(call(watch, path, user_token(idp, **changes)))


@pytest.mark.parametrize(
    "changes",
    [
        {"sub": None, "tid": None},  # oid alone: no tenant to know it by
        {"oid": None},  # Entra ID: the user is known by oid, never by sub
        {"oid": None, "tid": None},
        {"oid": None, "sub": None},
    ],
    ids=["oid only", "no oid", "sub only", "tid only"],
)
@pytest.mark.parametrize("path", PLAIN_AND_DRF)
def test_on_entra_a_delegated_token_must_name_its_user_by_oid_and_tid(idp, watch, path, changes):
    assert_invalid_token(call(watch, path, user_token(idp, **changes)))
    assert get_user_model().objects.count() == 0


@pytest.fixture
def generic_oidc(idp, settings):
    """The local provider configured as a generic OpenID Connect issuer (no Entra rules)."""
    settings.MSAL_DJANGO = {
        **settings.MSAL_DJANGO,
        "AUTHORITY": None,
        "OIDC_AUTHORITY": idp.issuer,
    }


@pytest.mark.parametrize("path", PLAIN_AND_DRF)
def test_elsewhere_a_token_with_neither_sub_nor_oid_and_tid_is_refused(
    idp, watch, generic_oidc, path
):
    # The 500 the review found: oid, no sub, no tid (KeyError: 'sub').
    token = user_token(idp, sub=None, tid=None, iss=idp.issuer.replace(idp.tenant_id, "{tenantid}"))
    assert_invalid_token(call(watch, path, token))
    assert_invalid_token(call(watch, path, user_token(idp, sub=None, tid=None)))
    assert get_user_model().objects.count() == 0


@pytest.mark.parametrize("path", PLAIN_AND_DRF)
def test_elsewhere_a_token_known_by_sub_is_admitted(idp, watch, generic_oidc, path):
    response = call(watch, path, user_token(idp, oid=None))
    assert response.status_code == 200, response.content
    assert UserIdentity.objects.values_list("issuer", flat=True).get() == idp.issuer


# -- the database fails: 503, as the store does ----------------------------------------


@pytest.fixture
def identity_table_gone():
    """``UserIdentity``'s table renamed away, as a database error the API meets: a
    real error from the real database."""
    connection = connections["default"]
    quote = connection.ops.quote_name
    table = UserIdentity._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {quote(table)} RENAME TO {quote(table + '_gone')}")
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {quote(table + '_gone')} RENAME TO {quote(table)}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", PLAIN_AND_DRF)
def test_a_database_error_is_a_503_temporarily_unavailable(idp, watch, path, identity_table_gone):
    response = call(watch, path, user_token(idp))
    assert_unavailable(path, response)


@pytest.mark.parametrize("path", PLAIN_AND_DRF)
def test_an_unreachable_provider_is_a_503_on_drf_too(idp, watch, path):
    token = user_token(idp)
    idp.inject("jwks", error=None, status=500)
    response = call(watch, path, token)
    assert_unavailable(path, response)


# -- DRF: permissions composed ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "who", "status"),
    [
        ("/drf/scopes-or-roles/", "app", 200),
        ("/drf/scopes-or-roles/", "user", 200),
        ("/drf/roles-or-scopes/", "app", 200),
        ("/drf/roles-or-scopes/", "user", 200),
        ("/drf/scopes-or-authenticated/", "app", 200),
        ("/drf/not-scopes/", "app", 200),
        ("/drf/scopes-and-roles/", "user", 403),
        ("/drf/scopes-and-roles/", "app", 403),
        ("/drf/not-scopes/", "user", 403),
        ("/drf/scopes-or-roles/", "app without the role", 403),
    ],
)
def test_composed_permissions_challenge_only_when_the_request_is_denied(
    idp, watch, path, who, status
):
    token = {
        "app": lambda: app_token(idp),
        "user": lambda: user_token(idp),
        "app without the role": lambda: app_token(idp, roles=("Other.Role",)),
    }[who]()
    response = call(watch, path, token)
    assert response.status_code == status, response.content
    challenge = response.get("WWW-Authenticate", "")
    if status == 200:
        assert challenge == ""
    elif path != "/drf/not-scopes/":  # ~HasScopes refuses what HasScopes grants
        assert challenge.startswith('Bearer error="insufficient_scope"')


# -- on-behalf-of partitions: one per person, never shared -------------------------------


def test_an_entra_object_id_and_a_sub_that_equals_it_are_different_callers():
    oid, tid = "0a1b2c3d-0000-4000-8000-00000000000a", "7d4b3a2e-58c4-4b44-9f0e-3d1c6a5b8e90"
    issuer = f"https://login.example/{tid}/v2.0"
    assert caller_account_id(tid, oid) == f"{oid}.{tid}"  # MSAL's home_account_id
    by_sub = caller_account_id(issuer, oid)
    assert by_sub != f"{oid}.{tid}"
    assert ":" in by_sub
    assert ":" not in caller_account_id(tid, oid)
    # A tenant and object id that would concatenate alike are told apart too.
    assert caller_account_id("b.c", "a") != caller_account_id("c", "a.b")


@pytest.mark.django_db(transaction=True)
def test_a_sub_equal_to_another_users_oid_never_gets_their_on_behalf_of_token(
    idp, settings, watch, store_backend
):
    idp.consent("alice", CLIENT_ID, ["User.Read"])
    alice = idp.users["alice"]
    graph = f"/obo/graph-me/?api={idp.api_url}"
    for _ in range(2):  # exchanged, then remembered by this process
        assert call(watch, graph, user_token(idp)).json()["graph"]["id"] == alice.oid
    partition = obo_partition_id(f"{alice.oid}.{alice.tid}")
    version = get_store().version(partition)
    # A generic OpenID Connect provider (no Entra rules) signs a token for someone else
    # whose sub is alice's oid, in her tenant: the review's collision.
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "AUTHORITY": None, "OIDC_AUTHORITY": idp.issuer}
    impostor = user_token(idp, "mallory", oid=None, sub=alice.oid, tid=alice.tid)
    response = call(watch, graph, impostor)
    assert alice.oid not in response.content.decode()
    assert response.status_code == 403  # the provider would not exchange it: no oid
    assert idp.count("token", grant_type=OBO_GRANT) == 2  # asked, never served hers
    assert get_store().version(partition) == version  # her partition untouched


# -- group overage on a first API call ------------------------------------------------------


@pytest.fixture
def mapping(settings):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "GROUP_MAP": {EDITORS: "editors"}}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "overage", [OVERAGE, {"hasgroups": True}], ids=["claim names", "hasgroups"]
)
@pytest.mark.parametrize("path", PLAIN_AND_DRF)
def test_a_first_call_with_group_overage_reads_the_groups_on_the_callers_behalf(
    idp, watch, mapping, store_backend, path, overage
):
    idp.add_user("ivy", groups=[EDITORS], overage=True)
    idp.consent("ivy", CLIENT_ID, [GRAPH_SCOPE])
    response = call(watch, path, user_token(idp, "ivy", **overage))
    assert response.status_code == 200, response.content
    user = get_user_model().objects.get(username="ivy@example.com")
    assert list(user.groups.values_list("name", flat=True)) == ["editors"]
    assert idp.count("token", grant_type=OBO_GRANT) == 1
    assert idp.count("graph_groups") == 1
    # The Graph token sits in ivy's on-behalf-of partition, which her logout removes.
    ivy = idp.users["ivy"]
    assert get_store().load(obo_partition_id(f"{ivy.oid}.{ivy.tid}")).exists


@pytest.mark.parametrize(
    ("setup", "status"),
    [
        ("no consent", 403),
        ("graph forbids", 403),
        ("graph down", 503),
        ("provider down", 503),
        ("next link elsewhere", 503),
    ],
)
@pytest.mark.parametrize("path", PLAIN_AND_DRF)
def test_a_first_call_whose_overage_cannot_be_resolved_is_refused_not_a_500(
    idp, watch, mapping, store_backend, path, setup, status
):
    idp.add_user("ivy", groups=[EDITORS], overage=True)
    if setup != "no consent":
        idp.consent("ivy", CLIENT_ID, [GRAPH_SCOPE] if setup != "graph forbids" else ["User.Read"])
    if setup == "graph down":
        idp.inject("graph_groups", error=None, status=500)
    if setup == "provider down":
        idp.inject("token", error="temporarily_unavailable", status=503, times=5)
    if setup == "next link elsewhere":
        idp.graph_next_link = f"{idp.base_url}/v1.0evil/me/transitiveMemberOf"
    token = user_token(idp, "ivy", **OVERAGE)
    response = call(watch, path, token)
    assert response.status_code == status, response.content
    assert not get_user_model().objects.filter(username="ivy@example.com").exists()
    assert idp.count("not_found") == 0
    if status == 403:
        assert Group.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_keep_groups_on_graph_error_lets_a_first_call_in_with_no_groups(
    idp, watch, mapping, settings
):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "KEEP_GROUPS_ON_GRAPH_ERROR": True}
    idp.add_user("ivy", groups=[EDITORS], overage=True)
    idp.consent("ivy", CLIENT_ID, [GRAPH_SCOPE])
    idp.inject("graph_groups", error=None, status=500)
    response = call(watch, "/api/me/", user_token(idp, "ivy", **OVERAGE))
    assert response.status_code == 200
    assert not get_user_model().objects.get(username="ivy@example.com").groups.exists()


# -- the callback: the store's database fails while the sign-in is stored ----------------


@pytest.fixture
def accounts_refused():
    """Inserting a ``CachedAccount`` fails in the database itself (a trigger): a real
    database error at the moment the callback stores the sign-in."""
    connection = connections["default"]
    table = connection.ops.quote_name(CachedAccount._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION msal_test_refuse() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER msal_test_refuse BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION msal_test_refuse()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER msal_test_refuse BEFORE INSERT ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
    yield
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER msal_test_refuse ON {table}")
            cursor.execute("DROP FUNCTION msal_test_refuse()")
        else:
            cursor.execute("DROP TRIGGER msal_test_refuse")


@pytest.mark.django_db(transaction=True)
def test_a_database_error_storing_the_sign_in_is_a_503_and_signs_no_one_in(
    idp, watch, sign_in, store_backend, accounts_refused
):
    browser = Client()
    response = watch.response(sign_in(browser, "alice"), unavailable=True)
    assert response.status_code == 503
    assert "_auth_user_id" not in browser.session
    assert browser.get("/").content == b"home:"  # not signed in, not half signed in
    assert not CachedAccount.objects.exists()
    alice = idp.users["alice"]
    assert not get_store().load(f"{alice.oid}.{alice.tid}").exists  # Redis: taken back
