"""The site as a web API: bearer tokens from the local provider on plain and DRF views,
every forgery refused with the right RFC 6750 answer, on-behalf-of and app tokens
cached in both stores, and a logout removing the caller's on-behalf-of tokens."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import time

import jwt
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

import msal_django
from msal_django import jwks
from msal_django.models import UserIdentity
from msal_django.signout.removal import obo_partition_id, remove_on_behalf_of_tokens
from msal_django.stores import get_store, token_memory
from msal_django.webapi.downstream import app_partition_id

from .conftest import CLIENT_ID, DAEMON_ID, DAEMON_SECRET, SPA_ID, changes_seen
from .races import run_in_threads

# The HMAC forgery signs with a short secret on purpose.
pytestmark = [
    pytest.mark.filterwarnings("ignore:The HMAC key is"),
    pytest.mark.usefixtures("api_clients"),
]

API = f"api://{CLIENT_ID}"
ACCESS_AS_USER = f"{API}/access_as_user"
OBO_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def call(path, token=None, method="get", **headers):
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return getattr(Client(), method)(path, **headers)


def user_token(idp, username="alice", scopes=(ACCESS_AS_USER,), **kwargs):
    return idp.access_token_for(username, SPA_ID, scopes, **kwargs)


def app_token(idp, roles=("Tasks.Read.All",)):
    if roles:
        idp.grant_app_roles(DAEMON_ID, API, roles)
    answer = idp.http_client().post(
        f"{idp.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DAEMON_ID,
            "client_secret": DAEMON_SECRET,
            "scope": f"{API}/.default",
        },
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def resigned(idp, token, **changes):
    """The token's claims changed, signed again with the provider's real key."""
    claims = {**claims_of(token), **changes}
    return idp.sign_jwt({k: v for k, v in claims.items() if v is not None}, typ="JWT")


def challenge_of(response):
    return response["WWW-Authenticate"]


# -- the happy paths ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_delegated_token_admits_its_user_created_like_at_sign_in(idp):
    response = call("/api/me/", user_token(idp))
    assert response.status_code == 200, response.content
    assert response.json() == {"user": "alice@example.com", "app": False, "authenticated": True}
    alice = idp.users["alice"]
    assert UserIdentity.objects.get(issuer=alice.tid, subject=alice.oid).user.username == (
        "alice@example.com"
    )


@pytest.mark.django_db
def test_a_user_who_signed_in_is_the_same_user_on_the_api(idp, alice_client):
    signed_in = alice_client.get("/").content.decode().removeprefix("home:")
    response = call("/api/me/", user_token(idp))
    assert response.json()["user"] == signed_in
    assert get_user_model().objects.count() == 1


@pytest.mark.django_db
def test_an_unknown_caller_is_refused_when_users_are_not_created(idp, settings):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "CREATE_USERS": False}
    response = call("/api/me/", user_token(idp))
    assert response.status_code == 403
    assert get_user_model().objects.count() == 0


@pytest.mark.django_db
def test_a_v1_access_token_is_accepted(idp):
    response = call("/api/me/", user_token(idp, version=1))
    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_an_async_view_is_protected_too(idp):
    assert call("/api/ame/", user_token(idp)).status_code == 200
    assert call("/api/ame/", "x.y.z").status_code == 401


@pytest.mark.django_db
def test_a_post_with_a_bearer_token_needs_no_csrf_token(idp):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/me/", HTTP_AUTHORIZATION=f"Bearer {user_token(idp)}")
    assert response.status_code == 200


@pytest.mark.django_db
def test_an_app_only_token_authenticates_the_app_not_a_user(idp):
    response = call("/api/tasks/", app_token(idp))
    assert response.status_code == 200, response.content
    assert response.json() == {"user": f"app:{DAEMON_ID}", "app": True, "authenticated": True}
    assert get_user_model().objects.count() == 0


@pytest.mark.django_db
def test_a_users_app_role_admits_them_where_a_role_is_required(idp):
    assert call("/api/tasks/", user_token(idp, roles=["Tasks.Read.All"])).status_code == 200


# -- refusals ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_authorization_header_gets_a_bare_bearer_challenge(idp):
    response = call("/api/me/")
    assert response.status_code == 401
    assert challenge_of(response) == "Bearer"


@pytest.mark.django_db
def test_a_missing_scope_gets_403_insufficient_scope_naming_it(idp):
    response = call("/api/me/", user_token(idp, scopes=[f"{API}/Other.Thing"]))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in challenge_of(response)
    assert 'scope="access_as_user"' in challenge_of(response)


@pytest.mark.django_db
def test_an_app_token_on_a_delegated_view_gets_403(idp):
    response = call("/api/me/", app_token(idp))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in challenge_of(response)


@pytest.mark.django_db
def test_a_user_token_without_the_role_gets_403(idp):
    assert call("/api/tasks/", user_token(idp)).status_code == 403


def _forgeries(idp):
    good = user_token(idp)
    header, payload, signature = good.split(".")
    other_tenant = "11111111-2222-3333-4444-555555555555"
    b64 = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    claims = claims_of(good)
    now = int(time.time())
    return {
        "signature": f"{header}.{payload}.{signature[:-4]}AAAA",
        "payload swapped": f"{header}.{b64({**claims, 'scp': 'access_as_user admin'})}.{signature}",
        "unknown kid": jwt.encode(claims, idp._keys.signing_key, "RS256", {"kid": "nope"}),
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "hmac with the client secret": jwt.encode(claims, "tests-client-secret-0123456789"),
        "issuer": resigned(idp, good, iss="https://evil.example/v2.0"),
        "another tenant": resigned(
            idp, good, tid=other_tenant, iss=idp.issuer.replace(idp.tenant_id, other_tenant)
        ),
        "audience": resigned(idp, good, aud="https://graph.microsoft.com"),
        "expired": resigned(idp, good, exp=now - 3600),
        "not yet valid": resigned(idp, good, nbf=now + 3600),
        "no scp nor roles": resigned(idp, good, scp=None),
        "scp not a string": resigned(idp, good, scp=["access_as_user"]),
        "id token": idp.sign_jwt(
            {**claims, "aud": CLIENT_ID, "nonce": "n", "azp": None, "scp": None}
        ),
        "logout token": idp.logout_token(CLIENT_ID, "alice", "sid-1"),
        "logout token typed JWT": resigned(
            idp, idp.logout_token(CLIENT_ID, "alice", "sid-1"), azp=SPA_ID, scp="access_as_user"
        ),
        "not a jwt": "abcdef",
        "garbage segments": "a.b.c",
        "huge": "a" * 20000 + ".b.c",
    }


FORGERIES = [
    "signature", "payload swapped", "unknown kid", "alg none", "hmac with the client secret",
    "issuer", "another tenant", "audience", "expired", "not yet valid", "no scp nor roles",
    "scp not a string", "id token", "logout token", "logout token typed JWT", "not a jwt",
    "garbage segments", "huge",
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("forgery", FORGERIES)
@pytest.mark.parametrize("path", ["/api/me/", "/drf/me/"])
def test_every_forgery_gets_401_invalid_token_and_a_log_line_without_it(idp, caplog, forgery, path):
    token = _forgeries(idp)[forgery]
    with caplog.at_level(logging.INFO, logger="msal_django.api"):
        response = call(path, token)
    assert response.status_code == 401, (forgery, response.content)
    assert 'error="invalid_token"' in challenge_of(response)
    assert "API request refused" in caplog.text
    assert token[-40:] not in caplog.text
    assert get_user_model().objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer  ", "Bearer a b", "Bearer <script>", "Bearer " + "x" * 70000],
)
def test_malformed_authorization_headers_get_401(idp, header):
    response = Client().get("/api/me/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


@pytest.mark.django_db
def test_another_scheme_gets_a_bare_challenge(idp):
    response = Client().get("/api/me/", HTTP_AUTHORIZATION="Basic YWxpY2U6cHc=")
    assert response.status_code == 401
    assert challenge_of(response) == "Bearer"


@pytest.mark.django_db
def test_an_unreachable_provider_gets_503_not_500(idp):
    token = user_token(idp)
    idp.inject("jwks", error=None, status=500)
    response = call("/api/me/", token)
    assert response.status_code == 503


# -- DRF ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_drf_admits_a_delegated_token(idp):
    response = call("/drf/me/", user_token(idp))
    assert response.status_code == 200, response.content
    assert response.json()["user"] == "alice@example.com"


@pytest.mark.django_db
def test_drf_without_credentials_gets_401_bearer(idp):
    response = call("/drf/me/")
    assert response.status_code == 401
    assert challenge_of(response) == "Bearer"


@pytest.mark.django_db
def test_drf_missing_scope_gets_403_insufficient_scope(idp):
    response = call("/drf/me/", user_token(idp, scopes=[f"{API}/Other.Thing"]))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in challenge_of(response)
    assert 'scope="access_as_user"' in challenge_of(response)


@pytest.mark.django_db
def test_drf_has_roles_admits_an_app_token_and_has_scopes_a_user(idp):
    assert call("/drf/tasks/", app_token(idp)).json()["app"] is True
    assert call("/drf/tasks/", user_token(idp)).json()["app"] is False


@pytest.mark.django_db
def test_an_app_token_without_any_role_is_refused(idp):
    token = app_token(idp, roles=())
    assert call("/drf/tasks/", token).status_code == 401
    assert call("/api/tasks/", token).status_code == 401


@pytest.mark.django_db
def test_drf_post_needs_no_csrf_token(idp):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/drf/me/", HTTP_AUTHORIZATION=f"Bearer {user_token(idp)}")
    assert response.status_code == 200


# -- on-behalf-of and app tokens ----------------------------------------------------------


def _graph_me(idp, token):
    return call(f"/api/graph-me/?api={idp.api_url}", token)


@pytest.mark.django_db(transaction=True)
def test_on_behalf_of_calls_graph_as_the_caller_and_a_second_call_hits_the_cache(
    idp, store_backend
):
    idp.consent("alice", CLIENT_ID, ["User.Read"])
    first = _graph_me(idp, user_token(idp))
    assert first.status_code == 200, first.content
    assert first.json()["graph"]["displayName"] == "Alice Example"
    assert idp.count("token", grant_type=OBO_GRANT) == 1
    # A new incoming token of the same caller: the same partition, no provider call.
    second = _graph_me(idp, user_token(idp))
    assert second.status_code == 200
    assert idp.count("token") == 1
    alice = idp.users["alice"]
    assert get_store().load(obo_partition_id(f"{alice.oid}.{alice.tid}")).exists


@pytest.mark.django_db(transaction=True)
def test_on_behalf_of_partitions_are_per_caller(idp, store_backend):
    for name in ("alice", "bob"):
        idp.consent(name, CLIENT_ID, ["User.Read"])
        for _ in range(3):  # exchanged, loaded, then remembered: never another's
            response = _graph_me(idp, user_token(idp, name))
            assert response.json()["graph"]["userPrincipalName"] == f"{name}@example.com"
    assert idp.count("token", grant_type=OBO_GRANT) == 2


@pytest.mark.django_db
def test_on_behalf_of_without_consent_answers_interaction_required(idp):
    response = _graph_me(idp, user_token(idp))
    assert response.status_code == 403
    assert response.json()["error"] == "interaction_required"
    assert response.json()["suberror"] == "consent_required"


@pytest.mark.django_db(transaction=True)
def test_a_logout_removes_the_callers_on_behalf_of_tokens(idp, store_backend, sign_in):
    idp.consent("alice", CLIENT_ID, ["User.Read"])
    browser = Client()
    sign_in(browser, "alice")
    assert _graph_me(idp, user_token(idp)).status_code == 200
    alice = idp.users["alice"]
    partition = obo_partition_id(f"{alice.oid}.{alice.tid}")
    assert get_store().load(partition).exists
    browser.post("/auth/logout/")
    assert not get_store().load(partition).exists
    assert _graph_me(idp, user_token(idp)).status_code == 200
    assert idp.count("token", grant_type=OBO_GRANT) == 2  # asked the provider again


@pytest.mark.django_db(transaction=True)
def test_removing_the_account_removes_its_on_behalf_of_tokens(idp, store_backend):
    from msal_django.signout.removal import remove_account

    idp.consent("alice", CLIENT_ID, ["User.Read"])
    assert _graph_me(idp, user_token(idp)).status_code == 200
    alice = idp.users["alice"]
    remove_account(f"{alice.oid}.{alice.tid}", reason="backchannel_logout")
    assert not get_store().load(obo_partition_id(f"{alice.oid}.{alice.tid}")).exists


@pytest.fixture
def counted_loads(monkeypatch):
    """How many times the store loaded (read and decrypted) a partition: a spy on the
    real store, which still does the work."""
    store_class = type(get_store())
    real_load = store_class.load
    loads = []

    def load(self, home_account_id, *args, **kwargs):
        loads.append(home_account_id)
        return real_load(self, home_account_id, *args, **kwargs)

    monkeypatch.setattr(store_class, "load", load)
    return loads


def _remembered_on_behalf_of(idp):
    """Alice's on-behalf-of token fetched, then served once from her partition (so this
    process remembers it): (partition id, the remembered entries)."""
    idp.consent("alice", CLIENT_ID, ["User.Read"])
    assert _graph_me(idp, user_token(idp)).status_code == 200  # the exchange, stored
    changes_seen()  # the store's notice of that write forgets nothing remembered later
    assert _graph_me(idp, user_token(idp)).status_code == 200
    alice = idp.users["alice"]
    partition = obo_partition_id(f"{alice.oid}.{alice.tid}")
    memory = token_memory.memory()
    assert memory is not None
    assert memory.lookup(partition, frozenset({"User.Read"})) is not None
    return partition, list(memory._accounts[partition])


@pytest.mark.django_db(transaction=True)
def test_a_remembered_on_behalf_of_token_is_served_without_loading_the_partition(
    idp, store_backend, counted_loads
):
    partition, _entries = _remembered_on_behalf_of(idp)
    # The first call found no partition and exchanged; the second loaded what it stored.
    assert counted_loads == [partition, partition]
    for _ in range(3):
        assert _graph_me(idp, user_token(idp)).status_code == 200
    assert counted_loads == [partition, partition]  # then only its version was read
    assert idp.count("token", grant_type=OBO_GRANT) == 1


def _log_alice_out(idp):
    from msal_django.signout.removal import remove_accounts_of

    user = get_user_model().objects.get(username="alice@example.com")
    remove_accounts_of(user, None, reason="backchannel_logout")


def _rewrite_elsewhere(idp):
    # Another process refreshed inside the partition: same tokens, a new version.
    alice = idp.users["alice"]
    partition = get_store().load(obo_partition_id(f"{alice.oid}.{alice.tid}"))
    assert get_store().save(partition, str(partition.state)) is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", [_log_alice_out, _rewrite_elsewhere])
def test_a_remembered_on_behalf_of_token_follows_the_partition_on_any_host(
    idp, store_backend, counted_loads, change
):
    partition, entries = _remembered_on_behalf_of(idp)
    change(idp)
    # What another worker's memory still holds (a removal here also drops it here), when
    # its watch has no proof: it reads the version (real processes that serve with no
    # read: test_serve_from_memory.py).
    memory = token_memory.memory()
    later = time.time() + 3600
    for entry in entries:
        memory.remember(partition, dataclasses.replace(entry, expires_on=later, epoch=0))
    loads = len(counted_loads)
    assert _graph_me(idp, user_token(idp)).status_code == 200
    assert counted_loads[loads:] == [partition]  # the version no longer matched: read afresh
    exchanges = 2 if change is _log_alice_out else 1  # removed: asked the provider again
    assert idp.count("token", grant_type=OBO_GRANT) == exchanges


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("memory_size", [1000, 0])
def test_concurrent_requests_of_one_caller_make_one_exchange(
    idp, settings, store_backend, memory_size
):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "ACCESS_TOKENS_IN_MEMORY": memory_size}
    idp.consent("alice", CLIENT_ID, ["User.Read"])
    assert _graph_me(idp, user_token(idp)).status_code == 200  # creates the user
    alice = idp.users["alice"]
    remove_on_behalf_of_tokens([f"{alice.oid}.{alice.tid}"], reason="test")
    tokens = [user_token(idp) for _ in range(6)]

    def call_the_api() -> None:
        assert _graph_me(idp, tokens.pop()).status_code == 200

    run_in_threads(call_the_api, 6)
    assert idp.count("token", grant_type=OBO_GRANT) == 2  # one before, one for all six


@pytest.mark.django_db(transaction=True)
def test_on_behalf_of_tokens_are_not_remembered_when_the_setting_is_off(
    idp, settings, counted_loads
):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "ACCESS_TOKENS_IN_MEMORY": 0}
    idp.consent("alice", CLIENT_ID, ["User.Read"])
    for _ in range(3):
        assert _graph_me(idp, user_token(idp)).status_code == 200
    assert token_memory.memory() is None
    assert len(counted_loads) == 3  # each call loaded the partition
    assert idp.count("token", grant_type=OBO_GRANT) == 1


@pytest.mark.django_db(transaction=True)
def test_app_tokens_are_cached_per_tenant_and_client(idp, store_backend):
    idp.grant_app_roles(CLIENT_ID, "https://graph.microsoft.com", ["User.Read.All"])
    first = msal_django.get_app_token(["https://graph.microsoft.com/.default"])
    second = msal_django.get_app_token(["https://graph.microsoft.com/.default"])
    assert first == second
    assert claims_of(first)["roles"] == ["User.Read.All"]
    assert idp.count("token", grant_type="client_credentials") == 1
    assert get_store().load(app_partition_id(idp.tenant_id)).exists


def test_get_token_on_behalf_of_needs_an_admitted_request(rf):
    with pytest.raises(ValueError, match="require_token"):
        msal_django.get_token_on_behalf_of(rf.get("/"), ["User.Read"])


# -- the local provider's grants ----------------------------------------------------------


def _obo(idp, assertion, scope="User.Read"):
    return idp.http_client().post(
        f"{idp.authority}/oauth2/v2.0/token",
        data={
            "grant_type": OBO_GRANT,
            "client_id": CLIENT_ID,
            "client_secret": "tests-client-secret-0123456789",
            "assertion": assertion,
            "requested_token_use": "on_behalf_of",
            "scope": scope,
        },
    )


def test_the_provider_refuses_on_behalf_of_a_token_for_another_audience(idp):
    idp.consent("alice", CLIENT_ID, ["User.Read"])
    graph_token = idp.access_token_for("alice", SPA_ID, ["User.Read"])
    answer = _obo(idp, graph_token)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert "AADSTS50013" in answer.json()["error_description"]


def test_the_provider_refuses_on_behalf_of_an_app_token(idp):
    answer = _obo(idp, app_token(idp))
    assert answer.json()["error"] == "invalid_grant"


def test_the_provider_refuses_client_credentials_without_dot_default(idp):
    answer = idp.http_client().post(
        f"{idp.authority}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DAEMON_ID,
            "client_secret": DAEMON_SECRET,
            "scope": f"{API}/access_as_user",
        },
    )
    assert answer.json()["error"] == "invalid_scope"
    assert "AADSTS1002012" in answer.json()["error_description"]


@pytest.mark.django_db
def test_the_keys_are_fetched_once_and_again_once_for_an_unknown_kid(idp, monkeypatch):
    for _ in range(3):
        assert call("/api/me/", user_token(idp)).status_code == 200
    assert idp.count("jwks") == 1
    monkeypatch.setattr(jwks, "JWKS_MIN_REFRESH_INTERVAL", 0.0)
    claims = claims_of(user_token(idp))
    rotated = jwt.encode(claims, idp._keys.signing_key, "RS256", {"kid": "rotated"})
    assert call("/api/me/", rotated).status_code == 401
    assert idp.count("jwks") == 2
