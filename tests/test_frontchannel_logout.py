"""Front-channel logout: the provider's signed-out page loads our URL in a hidden
cross-site iframe with ``iss`` and ``sid`` (Entra ID sends ``sid`` alone); the browser
sends no SameSite=Lax cookie there, so the sessions are found by ``sid``."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from msal_django.constants import SESSION_SID_KEY
from msal_django.models import CachedAccount, SignInSession

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("idp")]

URL = "/auth/logout/frontchannel/"


@pytest.fixture
def bob_client(db, sign_in) -> Client:
    client = Client()
    assert sign_in(client, "bob").status_code == 302
    return client


def state():
    return (
        sorted(CachedAccount.objects.values_list("home_account_id", "version")),
        sorted(SignInSession.objects.values_list("session_key", flat=True)),
        sorted(Session.objects.values_list("session_key", flat=True)),
    )


def iframe_get(params: dict[str, str]):
    """As the provider's iframe does: cross-site, so without the app's session cookie."""
    return Client().get(URL, params, HTTP_SEC_FETCH_SITE="cross-site", HTTP_SEC_FETCH_DEST="iframe")


def assert_signed_in(client: Client) -> None:
    assert client.get("/").content != b"home:"
    assert client.get("/token/").status_code == 200


def test_sign_in_records_the_provider_session(idp, alice_client):
    entry = SignInSession.objects.get()
    assert entry.session_key == alice_client.session.session_key
    assert entry.sid == alice_client.session[SESSION_SID_KEY]
    assert entry.issuer == idp.issuer
    assert entry.home_account_id == CachedAccount.objects.get().home_account_id
    assert entry.user.get_username() == "alice@example.com"
    assert entry.subject  # the ID token's sub, which logout tokens name


def test_local_logout_forgets_the_session(alice_client):
    alice_client.post("/auth/logout/")
    assert not SignInSession.objects.exists()


@pytest.mark.parametrize("with_iss", [True, False], ids=["iss_and_sid", "sid_only_as_entra"])
def test_known_sid_ends_exactly_that_users_session_and_tokens(
    idp, alice_client, bob_client, removed, with_iss
):
    alice_account = CachedAccount.objects.get(username="alice@example.com").home_account_id
    params = {"sid": alice_client.session[SESSION_SID_KEY]}
    if with_iss:
        params["iss"] = idp.issuer

    response = iframe_get(params)

    assert response.status_code == 200
    assert alice_client.get("/").content == b"home:"
    assert alice_client.get("/token/").status_code == 302
    assert list(CachedAccount.objects.values_list("username", flat=True)) == ["bob@example.com"]
    assert [s.user.get_username() for s in SignInSession.objects.all()] == ["bob@example.com"]
    assert [(r["home_account_id"], r["reason"]) for r in removed] == [
        (alice_account, "frontchannel_logout")
    ]
    assert removed[0]["user"].get_username() == "alice@example.com"
    assert_signed_in(bob_client)


def test_a_sid_ends_every_session_signed_in_with_its_account(idp, sign_in, alice_client):
    # Alice's tokens are one partition, whichever browser signed in: removing them ends
    # every session that relied on them, not only the one the sid names.
    other_browser = Client()
    sign_in(other_browser, "alice")  # a second provider session, another sid
    bob_browser = Client()
    sign_in(bob_browser, "bob")
    assert other_browser.session[SESSION_SID_KEY] != alice_client.session[SESSION_SID_KEY]

    iframe_get({"iss": idp.issuer, "sid": alice_client.session[SESSION_SID_KEY]})

    assert alice_client.get("/").content == b"home:"
    assert other_browser.get("/").content == b"home:"
    assert bob_browser.get("/").content == b"home:bob@example.com"
    assert SignInSession.objects.get().session_key == bob_browser.session.session_key


@pytest.mark.parametrize(
    "params",
    [
        {"iss": "https://evil.example/v2.0", "sid": "ALICE"},
        {"sid": "no-such-sid"},
        {"iss": "ISSUER", "sid": "no-such-sid"},
        {"sid": "x" * 300},
    ],
    ids=["wrong_iss", "unknown_sid", "unknown_sid_with_iss", "overlong_sid"],
)
def test_wrong_iss_or_unknown_sid_is_a_200_that_removes_nothing(
    idp, alice_client, bob_client, removed, caplog, params
):
    params = {
        k: v.replace("ALICE", alice_client.session[SESSION_SID_KEY]).replace("ISSUER", idp.issuer)
        for k, v in params.items()
    }
    before = state()

    response = iframe_get(params)

    assert response.status_code == 200
    assert state() == before
    assert removed == []
    assert_signed_in(alice_client)
    assert_signed_in(bob_client)
    assert "Front-channel logout" in caplog.text
    assert alice_client.session[SESSION_SID_KEY] not in caplog.text


def test_response_may_be_framed_by_the_provider_only_and_is_not_cached(idp, alice_client):
    response = iframe_get({"iss": idp.issuer, "sid": alice_client.session[SESSION_SID_KEY]})
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Security-Policy"] == f"frame-ancestors {idp.base_url}"
    assert "X-Frame-Options" not in response


def test_unknown_sid_response_has_the_same_headers(idp):
    response = iframe_get({"sid": "unknown"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert "X-Frame-Options" not in response


def test_without_iss_and_sid_the_session_cookie_is_used(alice_client, bob_client, removed):
    response = alice_client.get(URL, HTTP_SEC_FETCH_SITE="same-site", HTTP_SEC_FETCH_DEST="iframe")
    assert response.status_code == 200
    assert alice_client.get("/").content == b"home:"
    assert list(CachedAccount.objects.values_list("username", flat=True)) == ["bob@example.com"]
    assert [r["reason"] for r in removed] == ["frontchannel_logout"]
    assert_signed_in(bob_client)


def test_session_cookie_fallback_works_for_sessions_signed_in_before_the_index(
    alice_client, removed
):
    SignInSession.objects.all().delete()
    alice_client.get(URL, HTTP_SEC_FETCH_SITE="same-site", HTTP_SEC_FETCH_DEST="iframe")
    assert alice_client.get("/").content == b"home:"
    assert not CachedAccount.objects.exists()
    assert [r["reason"] for r in removed] == ["frontchannel_logout"]


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_SEC_FETCH_DEST": "document"},  # a link
        {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_SEC_FETCH_DEST": "iframe"},  # a frame
        {},  # a browser that says nothing about where the request comes from
    ],
)
def test_without_sid_a_request_from_another_site_signs_nobody_out(alice_client, headers):
    before = state()
    response = alice_client.get(URL, **headers)
    assert response.status_code == 200
    assert state() == before
    assert_signed_in(alice_client)


def test_without_sid_or_session_nothing_happens(alice_client):
    before = state()
    assert iframe_get({}).status_code == 200
    assert iframe_get({"iss": "https://evil.example/v2.0"}).status_code == 200
    assert state() == before


def test_only_get_is_allowed(alice_client):
    assert Client().post(URL).status_code == 405
