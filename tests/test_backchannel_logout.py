"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0): a provider POSTs a
signed logout token; a valid one ends the sessions it names and removes their tokens,
anything else gets a 400 and changes nothing."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.sessions.models import Session
from django.core import checks
from django.test import Client

from msal_django import jose, jwks
from msal_django.constants import SESSION_SID_KEY
from msal_django.models import CachedAccount, SignInSession
from msal_django.signout import logout_token
from msal_django.signout.logout_token import BACKCHANNEL_LOGOUT_EVENT
from tests.conftest import CLIENT_ID, CLIENT_SECRET

pytestmark = [
    pytest.mark.django_db,
    # The HMAC case signs with the (short) client secret on purpose.
    pytest.mark.filterwarnings("ignore:The HMAC key is"),
    pytest.mark.usefixtures("idp"),
]

URL = "/auth/logout/backchannel/"


@pytest.fixture(autouse=True)
def fresh_keys():
    logout_token.reset()
    yield
    logout_token.reset()


@pytest.fixture
def bob_client(db, sign_in) -> Client:
    client = Client()
    assert sign_in(client, "bob").status_code == 302
    return client


def claims_for(idp, client: Client, username: str = "alice") -> dict:
    """The claims of the logout token the provider would send for ``client``'s session."""
    token = idp.logout_token(CLIENT_ID, username, client.session[SESSION_SID_KEY])
    return jwt.decode(token, options={"verify_signature": False})


FORM = "application/x-www-form-urlencoded"


def post(token: str, client: Client | None = None):
    """POST as a provider does: a form-encoded body."""
    return (client or Client()).post(URL, urlencode({"logout_token": token}), content_type=FORM)


def state():
    """Everything a refused logout must leave as it was."""
    return (
        sorted(CachedAccount.objects.values_list("home_account_id", "version")),
        sorted(SignInSession.objects.values_list("session_key", flat=True)),
        sorted(Session.objects.values_list("session_key", flat=True)),
    )


def assert_signed_in(client: Client) -> None:
    assert client.get("/").content != b"home:"
    assert client.get("/token/").status_code == 200


def test_valid_logout_token_ends_that_session_and_removes_its_tokens(
    idp, alice_client, bob_client, removed
):
    alice_account = CachedAccount.objects.get(username="alice@example.com").home_account_id
    token = idp.logout_token(CLIENT_ID, "alice", alice_client.session[SESSION_SID_KEY])

    response = post(token)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert alice_client.get("/").content == b"home:"
    assert list(CachedAccount.objects.values_list("username", flat=True)) == ["bob@example.com"]
    assert list(SignInSession.objects.values_list("user__username", flat=True)) == [
        "bob@example.com"
    ]
    assert [(r["home_account_id"], r["reason"]) for r in removed] == [
        (alice_account, "backchannel_logout")
    ]
    assert_signed_in(bob_client)


def test_logout_token_with_sub_only_ends_all_that_persons_sessions(
    idp, sign_in, alice_client, bob_client
):
    second_alice = Client()
    sign_in(second_alice, "alice")  # another browser: another provider session (sid)
    claims = claims_for(idp, alice_client)
    del claims["sid"]

    assert post(idp.sign_jwt(claims, typ="logout+jwt")).status_code == 200

    assert alice_client.get("/").content == b"home:"
    assert second_alice.get("/").content == b"home:"
    assert_signed_in(bob_client)


def test_logout_token_for_an_unknown_session_is_accepted_and_ends_nothing(
    idp, alice_client, bob_client
):
    before = state()
    assert post(idp.logout_token(CLIENT_ID, "alice", "no-such-sid")).status_code == 200
    assert state() == before


def test_sid_and_sub_must_both_match(idp, alice_client, bob_client):
    claims = claims_for(idp, alice_client)
    claims["sub"] = claims_for(idp, bob_client, "bob")["sub"]
    before = state()
    assert post(idp.sign_jwt(claims, typ="logout+jwt")).status_code == 200
    assert state() == before


def foreign_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _without(claims: dict, name: str) -> dict:
    return {k: v for k, v in claims.items() if k != name}


# Each makes a token from a valid one's claims (and the provider); all must be refused.
REJECTED = {
    "bad_signature": lambda idp, c: jwt.encode(
        c, foreign_key(), algorithm="RS256", headers={"kid": idp.kid}
    ),
    "unknown_kid": lambda idp, c: jwt.encode(
        c, foreign_key(), algorithm="RS256", headers={"kid": "not-a-known-kid"}
    ),
    "alg_none": lambda idp, c: jwt.encode(c, "", algorithm="none", headers={"kid": idp.kid}),
    "hmac_with_client_secret": lambda idp, c: jwt.encode(
        c, CLIENT_SECRET, algorithm="HS256", headers={"kid": idp.kid}
    ),
    "wrong_iss": lambda idp, c: idp.sign_jwt({**c, "iss": "https://evil.example/v2.0"}),
    "wrong_aud": lambda idp, c: idp.sign_jwt({**c, "aud": "another-client"}),
    "no_aud": lambda idp, c: idp.sign_jwt(_without(c, "aud")),
    "expired": lambda idp, c: idp.sign_jwt(
        {**c, "iat": int(time.time()) - 250, "exp": int(time.time()) - 120}
    ),
    "iat_in_the_future": lambda idp, c: idp.sign_jwt({**c, "iat": int(time.time()) + 600}),
    "iat_too_old": lambda idp, c: idp.sign_jwt(
        {**c, "iat": int(time.time()) - 1000, "exp": int(time.time()) + 100}
    ),
    "no_iat": lambda idp, c: idp.sign_jwt(_without(c, "iat")),
    "no_jti": lambda idp, c: idp.sign_jwt(_without(c, "jti")),
    "missing_events": lambda idp, c: idp.sign_jwt(_without(c, "events")),
    "wrong_event": lambda idp, c: idp.sign_jwt(
        {**c, "events": {"http://schemas.openid.net/event/other": {}}}
    ),
    "event_not_an_object": lambda idp, c: idp.sign_jwt(
        {**c, "events": {BACKCHANNEL_LOGOUT_EVENT: "yes"}}
    ),
    "neither_sub_nor_sid": lambda idp, c: idp.sign_jwt(_without(_without(c, "sub"), "sid")),
    "nonce_present": lambda idp, c: idp.sign_jwt({**c, "nonce": "n-0S6_WzA2Mj"}),
    "id_token_typ": lambda idp, c: idp.sign_jwt(c, typ="at+jwt"),
    "encrypted_jwe": lambda idp, c: "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d",
    "malformed": lambda idp, c: "not-a-jwt",
    "malformed_segments": lambda idp, c: "eyJhbGciOiJSUzI1NiJ9.!!!.???",
}


EXPECTED = {
    "bad_signature": "Signature verification failed",
    "unknown_kid": "unknown key (kid)",
    "alg_none": "alg 'none' is not allowed",
    "hmac_with_client_secret": "alg 'HS256' is not allowed",
    "wrong_iss": "iss is not the configured provider",
    "wrong_aud": "Audience doesn't match",
    "no_aud": 'Token is missing the "aud" claim',
    "expired": "Signature has expired",
    "iat_in_the_future": "The token is not yet valid (iat)",
    "iat_too_old": "issued too long ago",
    "no_iat": 'Token is missing the "iat" claim',
    "no_jti": 'Token is missing the "jti" claim',
    "missing_events": "events has no http://schemas.openid.net/event/backchannel-logout",
    "wrong_event": "events has no http://schemas.openid.net/event/backchannel-logout",
    "event_not_an_object": "events has no http://schemas.openid.net/event/backchannel-logout",
    "neither_sub_nor_sid": "neither sub nor sid",
    "nonce_present": "has a nonce",
    "id_token_typ": "typ 'at+jwt' is not allowed",
    "encrypted_jwe": "not a signed JWT",
    "malformed": "not a signed JWT",
    "malformed_segments": "malformed",
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_invalid_logout_token_is_a_400_and_changes_nothing(
    idp, alice_client, bob_client, removed, case, caplog
):
    token = REJECTED[case](idp, claims_for(idp, alice_client))
    before = state()

    response = post(token)

    assert response.status_code == 400
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == "invalid_request"
    assert EXPECTED[case] in body["error_description"]
    assert state() == before
    assert removed == []
    assert_signed_in(alice_client)
    assert "Back-channel logout refused" in caplog.text
    assert token not in caplog.text


def test_replayed_logout_token_is_a_400(idp, alice_client, sign_in, removed):
    token = idp.logout_token(CLIENT_ID, "alice", alice_client.session[SESSION_SID_KEY])
    assert post(token).status_code == 200
    again = Client()
    sign_in(again, "alice")  # signed in again, under a new sid
    before = state()

    response = post(token)

    assert response.status_code == 400
    assert "already used" in response.json()["error_description"]
    assert state() == before
    assert len(removed) == 1


def test_body_that_is_not_form_encoded_is_a_400(idp, alice_client):
    token = idp.logout_token(CLIENT_ID, "alice", alice_client.session[SESSION_SID_KEY])
    before = state()
    response = Client().post(URL, {"logout_token": token}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert state() == before
    assert_signed_in(alice_client)


def test_oversized_logout_token_is_a_400(idp, alice_client):
    claims = claims_for(idp, alice_client)
    token = idp.sign_jwt({**claims, "padding": "x" * 16 * 1024})
    before = state()
    response = post(token)
    assert response.status_code == 400
    assert "too large" in response.json()["error_description"]
    assert state() == before


def test_multipart_body_is_a_400(idp, alice_client):
    token = idp.logout_token(CLIENT_ID, "alice", alice_client.session[SESSION_SID_KEY])
    assert Client().post(URL, {"logout_token": token}).status_code == 400
    assert_signed_in(alice_client)


@pytest.mark.parametrize("data", [{}, {"logout_token": ""}, {"other": "x"}])
def test_missing_logout_token_is_a_400(alice_client, data):
    before = state()
    response = Client().post(URL, urlencode(data), content_type=FORM)
    assert response.status_code == 400
    assert state() == before


def test_only_post_is_allowed(alice_client):
    assert Client().get(URL).status_code == 405


def test_backchannel_logout_needs_no_csrf_token(idp, alice_client):
    token = idp.logout_token(CLIENT_ID, "alice", alice_client.session[SESSION_SID_KEY])
    response = post(token, Client(enforce_csrf_checks=True))
    assert response.status_code == 200


def test_unreachable_jwks_is_a_400_and_the_token_can_be_retried(idp, alice_client):
    token = idp.logout_token(CLIENT_ID, "alice", alice_client.session[SESSION_SID_KEY])
    idp.inject("jwks", error=None, status=503)
    response = post(token)
    assert response.status_code == 400
    assert response.json()["error"] == "temporarily_unavailable"
    assert_signed_in(alice_client)
    assert post(token).status_code == 200
    assert alice_client.get("/").content == b"home:"


def test_keys_are_cached(idp, alice_client, sign_in):
    post(idp.logout_token(CLIENT_ID, "alice", alice_client.session[SESSION_SID_KEY]))
    other = Client()
    sign_in(other, "alice")
    post(idp.logout_token(CLIENT_ID, "alice", other.session[SESSION_SID_KEY]))
    assert idp.count("jwks") == 1


def test_unknown_kid_fetches_the_keys_again_once(idp, alice_client, monkeypatch):
    monkeypatch.setattr(jwks, "JWKS_MIN_REFRESH_INTERVAL", 0.0)
    claims = claims_for(idp, alice_client)
    token = jwt.encode(claims, foreign_key(), algorithm="RS256", headers={"kid": "rotated"})
    assert post(token).status_code == 400
    assert idp.count("jwks") == 2  # the first fetch, then one more for the unknown kid
    assert_signed_in(alice_client)


def test_unknown_kids_do_not_make_us_hammer_the_provider(idp, alice_client):
    claims = claims_for(idp, alice_client)
    for n in range(5):
        token = jwt.encode(
            {**claims, "jti": str(n)}, foreign_key(), algorithm="RS256", headers={"kid": f"k{n}"}
        )
        assert post(token).status_code == 400
    assert idp.count("jwks") == 1


def test_clock_skew_setting_is_honoured(idp, alice_client, settings):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "CLOCK_SKEW": 0}
    claims = claims_for(idp, alice_client)
    token = idp.sign_jwt({**claims, "iat": int(time.time()) + 30})
    assert post(token).status_code == 400


def test_multi_tenant_issuer_template_matches_one_tenant_only():
    template = "https://login.microsoftonline.com/{tenantid}/v2.0"
    assert jose.issuer_matches(
        "https://login.microsoftonline.com/7d4b3a2e-58c4-4b44-9f0e-3d1c6a5b8e90/v2.0", template
    )
    assert not jose.issuer_matches("https://login.microsoftonline.com/a/b/v2.0", template)
    assert not jose.issuer_matches("https://evil.example/x/v2.0", template)
    assert not jose.issuer_matches("https://a/v2.0x", "https://a/v2.0")


def test_signed_cookie_sessions_are_refused_by_a_check(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    assert "msal_django.E020" in [m.id for m in checks.run_checks()]


@pytest.mark.parametrize("engine", ["db", "cache", "cached_db", "file"])
def test_server_side_session_engines_pass_the_check(settings, engine):
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{engine}"
    assert "msal_django.E020" not in [m.id for m in checks.run_checks()]


@pytest.mark.parametrize("value", [-1, "soon", None])
def test_bad_logout_token_settings_are_reported(settings, value):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "LOGOUT_TOKEN_MAX_AGE": value}
    assert "msal_django.E021" in [m.id for m in checks.run_checks()]


def test_dummy_cache_is_warned_about(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    assert "msal_django.W020" in [m.id for m in checks.run_checks()]


def test_a_database_failure_is_a_retryable_400_and_the_retry_works(idp, alice_client, monkeypatch):
    """Section 2.8: the provider may retry; the jti must not be spent by the failed try."""
    from django.db import DatabaseError

    from msal_django.signout import removal

    real_end_sessions = removal.end_sessions

    def database_fails(**match):  # stands in for the database failing at that moment
        raise DatabaseError("the database went away")

    token = idp.logout_token(CLIENT_ID, "alice", alice_client.session[SESSION_SID_KEY])
    monkeypatch.setattr(removal, "end_sessions", database_fails)
    response = post(token)
    assert response.status_code == 400
    assert response.json()["error"] == "temporarily_unavailable"
    assert_signed_in(alice_client)

    monkeypatch.setattr(removal, "end_sessions", real_end_sessions)
    assert post(token).status_code == 200
    assert alice_client.get("/").content == b"home:"
