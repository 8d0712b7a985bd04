"""Sign-in through the real views, real MSAL and the local provider over HTTPS."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.test import Client

from msal_django.backends import MsalBackend
from msal_django.constants import FLOWS_KEY, SESSION_ACCOUNT_KEY
from msal_django.models import CachedAccount, UserIdentity

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("idp")]


def test_sign_in_creates_user_and_stores_tokens_in_their_partition(idp, sign_in):
    client = Client()
    response = sign_in(client, "alice")
    assert response.status_code == 302
    assert response["Location"] == "/"
    user = get_user_model().objects.get()
    alice = idp.users["alice"]
    assert client.session[SESSION_ACCOUNT_KEY] == f"{alice.oid}.{alice.tid}"
    account = CachedAccount.objects.get()
    assert account.home_account_id == f"{alice.oid}.{alice.tid}"
    assert account.user == user
    assert account.tenant_id == alice.tid
    assert UserIdentity.objects.get(user=user).subject == alice.oid
    assert client.get("/").content == f"home:{user.get_username()}".encode()


def test_login_uses_pkce_state_and_nonce(db):
    response = Client().get("/auth/login/")
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"]
    assert query["nonce"]
    assert query["code_challenge"]
    assert set(query["scope"][0].split()) >= {"User.Read", "openid", "offline_access"}


def test_second_sign_in_matches_the_same_user(idp, sign_in):
    sign_in(Client(), "alice")
    sign_in(Client(), "alice")
    assert get_user_model().objects.count() == 1
    assert CachedAccount.objects.count() == 1


@pytest.mark.parametrize("next_url", ["/token/?scopes=User.Read", "/admin/"])
def test_next_on_this_site_is_honoured(sign_in, next_url):
    response = sign_in(Client(), "alice", next=next_url)
    assert response["Location"] == next_url


@pytest.mark.parametrize(
    "next_url",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example/",
        "javascript:alert(1)",
        "http://testserver.evil.example/",
        "\\\\evil.example",
    ],
)
def test_next_leaving_the_site_is_ignored(sign_in, next_url):
    response = sign_in(Client(), "alice", next=next_url)
    assert response.status_code == 302
    assert response["Location"] == "/"


def _pending_callback(idp, client, username="alice"):
    start = client.get("/auth/login/")
    parts = urlsplit(idp.sign_in(start["Location"], username))
    return parts.path, parse_qs(parts.query)


def test_callback_without_a_flow_in_the_session_is_a_400(idp):
    path, query = _pending_callback(idp, Client())
    response = Client().get(path, {k: v[0] for k, v in query.items()})
    assert response.status_code == 400
    assert b"not valid" in response.content
    assert not CachedAccount.objects.exists()
    assert idp.count("token") == 0


@pytest.mark.parametrize("state", ["", "forged-state"])
def test_missing_or_forged_state_is_a_400_and_changes_nothing(idp, state):
    client = Client()
    path, query = _pending_callback(idp, client)
    params = {k: v[0] for k, v in query.items()}
    params["state"] = state
    response = client.get(path, params)
    assert response.status_code == 400
    assert not CachedAccount.objects.exists()
    assert "_auth_user_id" not in client.session
    assert idp.count("token") == 0


def test_replayed_callback_is_a_400(idp):
    client = Client()
    path, query = _pending_callback(idp, client)
    params = {k: v[0] for k, v in query.items()}
    assert client.get(path, params).status_code == 302
    replay = client.get(path, params)
    assert replay.status_code == 400
    assert CachedAccount.objects.count() == 1


def test_replayed_code_in_a_new_flow_is_a_400(idp):
    client = Client()
    path, query = _pending_callback(idp, client)
    params = {k: v[0] for k, v in query.items()}
    assert client.get(path, params).status_code == 302
    # A second flow in another browser, answered with the first flow's code.
    other = Client()
    start = other.get("/auth/login/")
    params["state"] = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    response = other.get(path, params)
    assert response.status_code == 400
    assert "_auth_user_id" not in other.session


@pytest.mark.parametrize(
    ("error", "title"),
    [("access_denied", b"Sign-in was cancelled"), ("consent_required", b"Sign-in failed")],
)
def test_provider_error_on_callback_is_a_400_page(idp, error, title):
    client = Client()
    start = client.get("/auth/login/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    response = client.get(
        "/auth/callback/",
        {"error": error, "error_description": "AADSTS65004: <b>declined</b>", "state": state},
    )
    assert response.status_code == 400
    assert title in response.content
    assert b"<b>declined</b>" not in response.content  # escaped
    assert not CachedAccount.objects.exists()
    assert FLOWS_KEY in client.session
    assert not client.session[FLOWS_KEY]


def test_token_endpoint_outage_during_callback_is_a_503(idp):
    client = Client()
    path, query = _pending_callback(idp, client)
    idp.inject("token", error=None, status=503)
    response = client.get(path, {k: v[0] for k, v in query.items()})
    assert response.status_code == 503
    assert not CachedAccount.objects.exists()


def test_pending_sign_ins_are_capped(idp, settings):
    client = Client()
    for _ in range(8):
        client.get("/auth/login/")
    assert len(client.session[FLOWS_KEY]) == settings.MSAL_DJANGO.get("MAX_PENDING_SIGN_INS", 5)


def test_create_users_off_refuses_unknown_people(idp, sign_in, settings):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "CREATE_USERS": False}
    response = sign_in(Client(), "mallory")
    assert response.status_code == 403
    assert not get_user_model().objects.exists()
    assert not CachedAccount.objects.exists()


def test_login_passes_a_claims_challenge_on(db):
    claims = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}'
    response = Client().get("/auth/login/", {"claims": claims})
    assert response.status_code == 302
    sent = parse_qs(urlsplit(response["Location"]).query)["claims"][0]
    assert json.loads(sent)["access_token"]["acrs"]["value"] == "c1"


@pytest.mark.parametrize("query", [{"claims": "{not json"}, {"scopes": "openid profile Mail.Read"}])
def test_odd_login_parameters_are_not_a_500(db, query):
    response = Client().get("/auth/login/", query)
    assert response.status_code in (302, 400)


def test_interaction_required_with_a_claims_challenge_reaches_the_login_url(rf):
    from django.contrib.auth.models import AnonymousUser

    from msal_django import InteractionRequired
    from msal_django.middleware import InteractionRequiredMiddleware

    request = rf.get("/report/")
    request.user = AnonymousUser()
    claims = '{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}'
    response = InteractionRequiredMiddleware(lambda r: None).process_exception(
        request,
        InteractionRequired(["Files.Read"], error="insufficient_claims", claims_challenge=claims),
    )
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["claims"] == [claims]
    assert query["next"] == ["/report/"]


class RefusingBackend(MsalBackend):
    """A project's subclass that admits nobody."""

    def verify_claims(self, claims):
        return False


class ProjectBackend(MsalBackend):
    """A project's subclass, listed instead of MsalBackend."""


def test_a_backend_subclass_listed_alone_keeps_the_person_signed_in(settings, idp, sign_in):
    settings.AUTHENTICATION_BACKENDS = ["tests.test_signin.ProjectBackend"]
    client = Client()
    assert sign_in(client, "alice").status_code == 302
    user = get_user_model().objects.get()
    assert client.session[BACKEND_SESSION_KEY] == "tests.test_signin.ProjectBackend"
    assert client.get("/").content == f"home:{user.get_username()}".encode()


def test_a_backend_subclass_that_refuses_is_obeyed(settings, idp, sign_in):
    settings.AUTHENTICATION_BACKENDS = ["tests.test_signin.RefusingBackend"]
    client = Client()
    assert sign_in(client, "alice").status_code == 403
    assert client.get("/").content == b"home:"
    assert not CachedAccount.objects.exists()


@pytest.mark.filterwarnings("error")
def test_login_raises_no_warning_even_when_warnings_are_errors(db):
    """MSAL warns that form_post is recommended; the package chose query on purpose."""
    response = Client().get("/auth/login/")
    assert response.status_code == 302
