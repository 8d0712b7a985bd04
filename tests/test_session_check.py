"""Sign-out that follows the account at the provider: every removal ends the sessions
signed in with the account, ``SessionCheckMiddleware`` asks the provider at most once per
``SESSION_CHECK_INTERVAL`` per account, ``get_token(..., claims_challenge=...)`` and
``manage.py msal_check_sessions``. On both databases and both token stores."""

from __future__ import annotations

import io
import json
import time

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import AsyncClient, Client

import msal_django
from msal_django.constants import SESSION_ACCOUNT_KEY
from msal_django.models import CachedAccount, SignInSession
from msal_django.stores import get_store
from msal_django.tokens import session_check

from .races import run_in_threads

CHECK = "msal_django.middleware.SessionCheckMiddleware"
REFRESH = "refresh_token"


@pytest.fixture(autouse=True)
def fresh_checks():
    """No claim or memory of an earlier test's check."""
    cache.clear()
    session_check.reset()
    yield
    cache.clear()
    session_check.reset()


@pytest.fixture
def checked(settings):
    """The middleware on, and a short interval: time passes with ``time.sleep``."""
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, CHECK]

    def interval(seconds):
        settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "SESSION_CHECK_INTERVAL": seconds}

    interval(1)
    return interval


def account_of(client):
    return client.session[SESSION_ACCOUNT_KEY]


def signed_in_as(client):
    return client.get("/").content.decode().removeprefix("home:")


def later():
    """The interval passes: the shared claim expires, and with it this process's memory
    of the last check (as for a process that never checked the account). The timing
    itself is tested with real sleeps in ``test_..._asked_once_per_interval_...``."""
    cache.clear()
    session_check.reset()


def wait_interval():
    time.sleep(1.1)  # the interval (1 s) passes for real, for this process and the cache


# -- every removal ends the sessions signed in with the account -----------------------


@pytest.mark.django_db(transaction=True)
def test_a_logout_here_ends_the_accounts_other_sessions(idp, sign_in, store_backend, removed):
    laptop, phone = Client(), Client()
    sign_in(laptop, "alice")
    sign_in(phone, "alice")
    laptop.post("/auth/logout/")
    assert signed_in_as(phone) == ""
    assert not SignInSession.objects.exists()
    assert [r["reason"] for r in removed] == ["logout"]


@pytest.mark.django_db(transaction=True)
def test_a_refresh_token_refused_in_get_token_ends_the_sessions(
    idp, sign_in, store_backend, removed
):
    laptop, phone = Client(), Client()
    sign_in(laptop, "alice")
    sign_in(phone, "alice")
    idp.revoke_refresh_tokens("alice")
    assert laptop.get("/token/", {"scopes": "Calendars.Read"}).status_code == 302
    assert signed_in_as(laptop) == ""
    assert signed_in_as(phone) == ""
    assert [r["reason"] for r in removed] == ["refresh_token_rejected"]


@pytest.mark.django_db(transaction=True)
def test_msal_purge_ends_the_sessions_of_what_it_removes(idp, sign_in, store_backend):
    alice, bob = Client(), Client()
    sign_in(alice, "alice")
    sign_in(bob, "bob")
    call_command("msal_purge", "--account", account_of(alice), "--no-input", stdout=io.StringIO())
    assert signed_in_as(alice) == ""
    assert signed_in_as(bob) == "bob@example.com"


@pytest.mark.django_db(transaction=True)
def test_an_admin_revoke_ends_the_sessions(idp, sign_in, store_backend, admin_client):
    alice = Client()
    sign_in(alice, "alice")
    account = CachedAccount.objects.get(home_account_id=account_of(alice))
    admin_client.post(f"/admin/msal_django/cachedaccount/{account.pk}/revoke/")
    assert signed_in_as(alice) == ""


# -- the session check ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_session_whose_account_the_provider_refuses_ends_at_the_next_check(
    idp, sign_in, checked, store_backend, removed
):
    laptop, phone = Client(), Client()
    sign_in(laptop, "alice")
    sign_in(phone, "alice")
    idp.revoke_refresh_tokens("alice")  # as an admin's "revoke sessions" does at Entra
    assert signed_in_as(laptop) == "alice@example.com"  # within the interval: not asked
    later()
    response = laptop.get("/reports/?x=1")
    assert response.status_code == 302
    assert response["Location"].startswith("/auth/login/?next=%2Freports%2F%3Fx%3D1")
    assert signed_in_as(laptop) == ""
    assert signed_in_as(phone) == ""
    assert [r["reason"] for r in removed] == ["provider_refused"]
    assert not get_store().load(account_of_user("alice", idp)).exists


def account_of_user(username, idp):
    user = idp.users[username]
    return f"{user.oid}.{user.tid}"


@pytest.mark.django_db(transaction=True)
def test_a_fetch_gets_the_401_json_when_its_session_ends(idp, sign_in, checked):
    browser = Client()
    sign_in(browser, "alice")
    idp.revoke_refresh_tokens("alice")
    later()
    response = browser.get("/", HTTP_SEC_FETCH_MODE="cors", HTTP_REFERER="http://testserver/p/")
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "interaction_required"
    assert body["login_url"].startswith("/auth/login/?next=%2Fp%2F")


@pytest.mark.django_db(transaction=True)
def test_inside_the_interval_a_request_asks_nothing_and_writes_nothing(
    idp, sign_in, checked, store_backend
):
    checked(900)
    browser = Client()
    sign_in(browser, "alice")
    before = list(CachedAccount.objects.values_list("version", "updated_at"))
    tokens = idp.count("token")
    for _ in range(5):
        assert signed_in_as(browser) == "alice@example.com"
    assert idp.count("token") == tokens  # the sign-in counted as the first check
    assert list(CachedAccount.objects.values_list("version", "updated_at")) == before


@pytest.mark.django_db(transaction=True)
def test_a_standing_account_is_asked_once_per_interval_and_stays_signed_in(
    idp, sign_in, checked, store_backend
):
    browser = Client()
    sign_in(browser, "alice")
    wait_interval()
    for _ in range(3):
        assert signed_in_as(browser) == "alice@example.com"
    assert idp.count("token", grant_type=REFRESH) == 1
    wait_interval()
    assert signed_in_as(browser) == "alice@example.com"
    assert idp.count("token", grant_type=REFRESH) == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_of_one_account_make_one_check(idp, sign_in, checked, store_backend):
    browser = Client()
    sign_in(browser, "alice")
    cookies = browser.cookies
    later()

    def request():
        client = Client()
        client.cookies = cookies
        assert signed_in_as(client) == "alice@example.com"

    run_in_threads(request, 6)
    assert idp.count("token", grant_type=REFRESH) == 1


@pytest.mark.django_db(transaction=True)
def test_another_process_checked_within_the_interval_so_this_one_does_not(idp, sign_in, checked):
    browser = Client()
    sign_in(browser, "alice")
    later()
    assert signed_in_as(browser) == "alice@example.com"  # checked, claimed in the cache
    session_check.reset()  # another process: the same cache, nothing in its memory
    assert signed_in_as(browser) == "alice@example.com"
    assert idp.count("token", grant_type=REFRESH) == 1


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_provider_ends_nothing(idp, sign_in, checked, store_backend, removed):
    browser = Client()
    sign_in(browser, "alice")
    later()
    idp.inject("token", error="temporarily_unavailable", status=503, times=10)
    assert signed_in_as(browser) == "alice@example.com"
    assert removed == []
    assert get_store().load(account_of(browser)).exists


@pytest.mark.django_db(transaction=True)
def test_a_consent_the_check_cannot_get_is_not_a_refusal(idp, sign_in, checked, settings):
    browser = Client()
    sign_in(browser, "alice")
    later()
    idp.inject("token", error="invalid_grant", suberror="consent_required", times=3)
    assert signed_in_as(browser) == "alice@example.com"


@pytest.mark.django_db(transaction=True)
def test_a_session_signed_in_otherwise_is_not_checked(idp, checked, django_user_model):
    user = django_user_model.objects.create_user("carol", password="pw")
    browser = Client()
    browser.force_login(user)
    later()
    assert signed_in_as(browser) == "carol"
    assert idp.count("token") == 0


@pytest.mark.django_db(transaction=True)
def test_the_check_is_off_when_the_interval_is_none(idp, sign_in, checked):
    checked(None)
    browser = Client()
    sign_in(browser, "alice")
    idp.revoke_refresh_tokens("alice")
    later()
    assert signed_in_as(browser) == "alice@example.com"
    assert idp.count("token", grant_type=REFRESH) == 0


@pytest.mark.django_db(transaction=True)
def test_an_async_stack_ends_the_session_too(idp, sign_in, checked):
    browser = Client()
    sign_in(browser, "alice")
    idp.revoke_refresh_tokens("alice")
    later()
    client = AsyncClient()  # the ASGI handler: the middleware runs as a coroutine
    client.cookies = browser.cookies
    response = async_to_sync(client.get)("/atoken/")
    assert response.status_code == 302
    assert response["Location"].startswith("/auth/login/")
    assert signed_in_as(browser) == ""


# -- claims challenges (Continuous Access Evaluation) ---------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_claims_challenge_is_never_answered_from_memory_or_the_cache(
    idp, store_backend, alice_client
):
    first = alice_client.get("/token/").json()["access_token"]
    assert alice_client.get("/token/").json()["access_token"] == first  # remembered
    user = get_user_model().objects.get()
    claims = json.dumps({"access_token": {"nbf": {"essential": True, "value": "1"}}})
    refreshed = msal_django.get_token_for_user(user, ["User.Read"], claims_challenge=claims)
    assert refreshed != first
    assert idp.count("token", grant_type=REFRESH) == 1
    # The new token replaced the old one on every host: it is what is served next.
    assert alice_client.get("/token/").json()["access_token"] == refreshed


@pytest.mark.django_db(transaction=True)
def test_a_claims_challenge_the_provider_refuses_removes_the_account(
    idp, store_backend, alice_client, removed
):
    user = get_user_model().objects.get()
    idp.revoke_refresh_tokens("alice")
    claims = json.dumps({"access_token": {"nbf": {"essential": True, "value": "1"}}})
    with pytest.raises(msal_django.InteractionRequired) as raised:
        msal_django.get_token_for_user(user, ["User.Read"], claims_challenge=claims)
    assert raised.value.claims_challenge == claims
    assert [r["reason"] for r in removed] == ["provider_refused"]
    assert signed_in_as(alice_client) == ""


# -- manage.py msal_check_sessions ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_msal_check_sessions_removes_the_refused_and_keeps_the_rest(
    idp, sign_in, store_backend, settings
):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "SESSION_CHECK_INTERVAL": None}
    alice, bob = Client(), Client()
    sign_in(alice, "alice")
    sign_in(bob, "bob")
    idp.revoke_refresh_tokens("alice")
    dry = io.StringIO()
    call_command("msal_check_sessions", "--dry-run", stdout=dry)
    assert "2 signed-in account(s) would be checked" in dry.getvalue()
    assert idp.count("token", grant_type=REFRESH) == 0
    out = io.StringIO()
    call_command("msal_check_sessions", stdout=out)
    assert "Checked 2 account(s): 1 still valid, 1 refused and removed" in out.getvalue()
    assert signed_in_as(alice) == ""
    assert signed_in_as(bob) == "bob@example.com"


@pytest.mark.django_db
def test_msal_check_sessions_skips_accounts_checked_within_the_interval(idp, sign_in):
    sign_in(Client(), "alice")  # the sign-in counts as a check
    out = io.StringIO()
    call_command("msal_check_sessions", stdout=out)
    assert "1 checked recently" in out.getvalue()
    assert idp.count("token", grant_type=REFRESH) == 0


@pytest.mark.parametrize("size", ["0", "-1", "abc", "100001"])
def test_msal_check_sessions_refuses_a_bad_batch_size(db, size):
    with pytest.raises(CommandError, match="--batch-size"):
        call_command("msal_check_sessions", "--batch-size", size)


# -- Continuous Access Evaluation, end to end with the provider ------------------------


@pytest.mark.django_db(transaction=True)
def test_a_cp1_site_follows_a_caes_challenge_to_the_sign_in(
    idp, settings, sign_in, store_backend, removed
):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "CLIENT_CAPABILITIES": ["cp1"]}
    browser = Client()
    sign_in(browser, "alice")
    token = browser.get("/token/").json()["access_token"]
    http = idp.http_client()
    graph = lambda t: http.get(idp.api_url, headers={"Authorization": f"Bearer {t}"})  # noqa: E731
    assert graph(token).status_code == 200
    time.sleep(1.01)  # the event comes after the token's iat (whole seconds)
    idp.disable_user("alice")
    answer = graph(token)  # a 28-hour token, but Graph evaluates it continuously
    claims = msal_django.claims_challenge(answer)
    assert claims is not None
    user = get_user_model().objects.get()
    with pytest.raises(msal_django.InteractionRequired) as raised:
        msal_django.get_token_for_user(user, ["User.Read"], claims_challenge=claims)
    assert raised.value.claims_challenge == claims
    assert [r["reason"] for r in removed] == ["provider_refused"]
    assert signed_in_as(browser) == ""


@pytest.mark.django_db(transaction=True)
def test_a_disabled_user_is_signed_out_by_the_session_check(idp, sign_in, checked, removed):
    browser = Client()
    sign_in(browser, "alice")
    idp.disable_user("alice")
    later()
    assert browser.get("/").status_code == 302
    assert signed_in_as(browser) == ""
    assert [r["reason"] for r in removed] == ["provider_refused"]


# -- system checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "check_id"),
    [
        ("SESSION_CHECK_INTERVAL", 0, "msal_django.E025"),
        ("SESSION_CHECK_INTERVAL", "15m", "msal_django.E025"),
        ("SESSION_CHECK_INTERVAL", True, "msal_django.E025"),
        ("CLIENT_CAPABILITIES", "cp1", "msal_django.E026"),
        ("CLIENT_CAPABILITIES", [1], "msal_django.E026"),
    ],
)
def test_a_wrong_value_is_a_system_check_error(settings, key, value, check_id):
    from django.core import checks

    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, key: value}
    assert check_id in [m.id for m in checks.run_checks()]


@pytest.mark.parametrize("value", [None, 900, 0.5])
def test_right_intervals_pass_the_checks(settings, value):
    from django.core import checks

    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "SESSION_CHECK_INTERVAL": value}
    assert "msal_django.E025" not in [m.id for m in checks.run_checks()]


def test_the_middleware_before_authentication_is_a_system_check_error(settings):
    from django.core import checks

    settings.MIDDLEWARE = [CHECK, *settings.MIDDLEWARE]
    assert "msal_django.E027" in [m.id for m in checks.run_checks()]
    settings.MIDDLEWARE = [*settings.MIDDLEWARE[1:], CHECK]
    assert "msal_django.E027" not in [m.id for m in checks.run_checks()]
