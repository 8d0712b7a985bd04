"""Logout removes the account and every token, whatever path calls auth.logout()."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

import msal_django
from msal_django import tokens
from msal_django.models import CachedAccount, SignInSession
from msal_django.signals import account_removed

from .races import run_in_threads, running_in_threads

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("idp")]


def test_logout_get_shows_a_confirmation_page(alice_client):
    response = alice_client.get("/auth/logout/")
    assert response.status_code == 200
    assert b'<form method="post"' in response.content
    assert CachedAccount.objects.exists()


def test_logout_requires_csrf(alice_client):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.cookies = alice_client.cookies
    assert csrf_client.post("/auth/logout/").status_code == 403
    assert CachedAccount.objects.exists()


def test_full_journey_sign_in_token_refresh_logout(idp, sign_in, removed):
    # MSAL refreshes a token that expires within 300 s: this one does so 2 s from now.
    idp.access_token_lifetime = 302
    client = Client()
    sign_in(client, "alice")
    assert client.get("/token/").status_code == 200
    assert idp.count("token", grant_type="refresh_token") == 0
    time.sleep(2.2)
    assert client.get("/token/").status_code == 200
    assert idp.count("token", grant_type="refresh_token") == 1
    home_account_id = CachedAccount.objects.get().home_account_id

    response = client.post("/auth/logout/")
    assert response.status_code == 302
    end_session = urlsplit(response["Location"])
    assert response["Location"].startswith(idp.authority)
    assert end_session.path.endswith("/oauth2/v2.0/logout")
    assert parse_qs(end_session.query)["post_logout_redirect_uri"] == ["http://testserver/"]

    assert not CachedAccount.objects.exists()
    assert [(r["home_account_id"], r["reason"]) for r in removed] == [(home_account_id, "logout")]
    assert removed[0]["user"] == get_user_model().objects.get()
    user = get_user_model().objects.get()
    with pytest.raises(msal_django.InteractionRequired):
        tokens.acquire(home_account_id, ["User.Read"], user=user)
    assert client.get("/token/").status_code == 302


def test_admin_logout_removes_tokens_too(alice_client):
    get_user_model().objects.update(is_staff=True)
    assert SignInSession.objects.exists()
    assert alice_client.post("/admin/logout/").status_code in (200, 302)
    assert "_auth_user_id" not in alice_client.session
    assert not CachedAccount.objects.exists()
    assert not SignInSession.objects.exists()


def test_signal_receiver_that_raises_does_not_block_removal(alice_client, caplog):
    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    account_removed.connect(broken)
    try:
        alice_client.post("/auth/logout/")
    finally:
        account_removed.disconnect(broken)
    assert not CachedAccount.objects.exists()
    assert "raised RuntimeError" in caplog.text


def test_logout_of_one_user_leaves_the_other(sign_in):
    alice, bob = Client(), Client()
    sign_in(alice, "alice")
    sign_in(bob, "bob")
    alice.post("/auth/logout/")
    assert list(CachedAccount.objects.values_list("username", flat=True)) == [
        CachedAccount.objects.get().username
    ]
    assert bob.get("/token/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_logout_racing_refreshes_never_leaves_a_token(idp, sign_in):
    """Threads refresh the same account while it logs out: no token after logout returns."""
    idp.access_token_lifetime = 60  # MSAL refreshes tokens this short-lived on every call
    for _round in range(6):
        client = Client()
        sign_in(client, "alice")
        account = CachedAccount.objects.get()
        logged_out_at: list[float] = []
        late_tokens: list[float] = []

        def refresh_until(stop, account=account, logged_out_at=logged_out_at, late=late_tokens):
            while not stop.is_set():
                started = time.monotonic()
                try:
                    tokens.acquire(account.home_account_id, ["User.Read"], user=account.user)
                except msal_django.InteractionRequired:
                    continue
                if logged_out_at and started > logged_out_at[0]:
                    late.append(started)

        with running_in_threads(refresh_until, 3):
            time.sleep(0.3)
            assert client.post("/auth/logout/").status_code == 302
            logged_out_at.append(time.monotonic())
            time.sleep(0.3)
        assert late_tokens == []
        assert not CachedAccount.objects.exists()
        assert idp.count("token", grant_type="refresh_token") > 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_with_strictly_rotating_refresh_tokens_keep_the_account(idp, sign_in):
    """A provider that invalidates a refresh token once used: the losers of a race
    retry on the newer tokens instead of dropping the account as if it were revoked."""
    idp.strict_refresh_token_rotation = True
    idp.access_token_lifetime = 60  # every call refreshes
    sign_in(Client(), "alice")
    account = CachedAccount.objects.get()
    outcomes: list[str] = []

    def refresh_4_times():
        for _ in range(4):
            try:
                tokens.acquire(account.home_account_id, ["User.Read"], user=account.user)
                outcomes.append("token")
            except Exception as exc:  # recorded and asserted on below
                outcomes.append(f"{type(exc).__name__}:{getattr(exc, 'error', '')}")

    run_in_threads(refresh_4_times, 3)
    assert outcomes.count("token") >= 10, outcomes
    assert "InteractionRequired" not in outcomes
    assert CachedAccount.objects.filter(home_account_id=account.home_account_id).exists()
    # The newest refresh token is the one stored: one more refresh works.
    assert tokens.acquire(account.home_account_id, ["User.Read"], user=account.user)


def test_sign_in_prunes_index_entries_of_sessions_that_are_gone(sign_in):
    from django.contrib.sessions.models import Session

    first, second = Client(), Client()
    sign_in(first, "alice")
    sign_in(second, "alice")
    gone, alive = first.session.session_key, second.session.session_key
    Session.objects.filter(session_key=gone).delete()  # expired and cleared
    sign_in(Client(), "alice")
    keys = set(SignInSession.objects.values_list("session_key", flat=True))
    assert gone not in keys
    assert alive in keys  # however old, a live session stays findable by its sid
    assert len(keys) == 2


def test_logout_while_the_store_fails_still_ends_the_session_with_a_503(alice_client, monkeypatch):
    from msal_django.exceptions import StoreUnavailable
    from msal_django.stores.database import DatabaseStore

    def store_fails(self, home_account_id):  # stands in for a database that stops answering
        raise StoreUnavailable("The token store database is unavailable")

    monkeypatch.setattr(DatabaseStore, "remove", store_fails)
    response = alice_client.post("/auth/logout/")
    assert response.status_code == 503
    assert b"Your session here has ended" in response.content
    assert "_auth_user_id" not in alice_client.session
