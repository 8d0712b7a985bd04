"""Hostile input, tried as an attacker would, on every view, the stores, the admin and
``msal_purge``: never a 500, never a secret (client secret, private key, any code or
token the provider issued, PKCE verifier) in a log record, a response or an error
report (Django's technical 500 page and the ADMINS e-mail, rendered for real), never a
forged log line, and never another user's data touched.

Runs on SQLite and PostgreSQL (``MSAL_DJANGO_TEST_DB``); the cases that reach a token
store run on the database store and the Redis store.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlencode, urlsplit

import django
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path
from django.views.debug import ExceptionReporter

import msal_django
from msal_django.constants import FLOWS_KEY, SESSION_SID_KEY
from msal_django.models import CachedAccount
from msal_django.signout import logout_token
from msal_django.signout.logout_token import BACKCHANNEL_LOGOUT_EVENT
from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.hostile import assert_still_signed_in, everyone

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__), pytest.mark.usefixtures("idp")]

FORGED = "\r\n2026-01-01 00:00:00 CRITICAL forged log line"


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("an unexpected failure in the site's own view")


def token_view(request: HttpRequest) -> HttpResponse:
    """A site's view that calls get_token and has no InteractionRequiredMiddleware."""
    return HttpResponse(msal_django.get_token(request, ["User.Read"])[:0] + "ok")


urlpatterns = [
    path("boom/", boom),
    path("needs-token/", token_view),
    path("", include("tests.urls")),
]


# -- the login view ---------------------------------------------------------------------

LOGIN_REFUSED = {
    "scopes_150k": {"scopes": "A" * 150_000},
    "scopes_many_short": {"scopes": " ".join(f"s{n}" for n in range(60_000))},
    "scopes_51": {"scopes": " ".join(f"api://x/s{n}" for n in range(51))},
    "scopes_just_over_length": {"scopes": "x" * 2049},
    "claims_too_long": {"claims": '{"id_token":{"acrs":{"values":["' + "a" * 5000 + '"]}}}'},
    "claims_not_json": {"claims": "{not json"},
    "claims_json_list": {"claims": "[1, 2]"},
    "claims_deeply_nested": {"claims": "[" * 2000 + "]" * 2000},
    "claims_nested_objects": {"claims": '{"a":' * 1000 + "1" + "}" * 1000},
}

LOGIN_ACCEPTED = {
    "nothing": {},
    "reserved_scopes_only": {"scopes": "openid profile offline_access"},
    "scopes_with_controls": {"scopes": "User.Read\x1b[31m Mail.Read" + FORGED},
    "scopes_unicode": {"scopes": "Ünïcode.Read \u202eevil"},
    "scopes_repeated": {"scopes": "User.Read User.Read User.Read"},
    "prompt_unknown": {"prompt": "admin_consent" + FORGED},
    "prompt_huge": {"prompt": "x" * 100_000},
    "next_huge": {"next": "/" + "a" * 100_000},
    "next_crlf": {"next": "/page" + FORGED},
    "next_offsite": {"next": "https://evil.example/"},
    "next_scheme_relative": {"next": "//evil.example/"},
    "next_backslashes": {"next": "/\\\\evil.example/"},
    "next_javascript": {"next": "javascript:alert(1)"},
    "next_nul": {"next": "/a\x00b"},
    "next_unicode_host": {"next": "https://\uff45\uff56\uff49\uff4c.example/"},
    "claims_valid": {"claims": '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}'},
    "claims_empty": {"claims": ""},
}


@pytest.mark.parametrize("case", sorted(LOGIN_REFUSED))
def test_a_refused_sign_in_link_is_a_400_and_stores_nothing(watch, case):
    client = Client()
    response = watch.response(client.get("/auth/login/", LOGIN_REFUSED[case]))
    assert response.status_code == 400
    assert "sessionid" not in response.cookies
    assert Session.objects.count() == 0


@pytest.mark.parametrize("case", sorted(LOGIN_ACCEPTED))
def test_odd_sign_in_parameters_are_bounded_before_they_are_stored(watch, case):
    client = Client()
    response = watch.response(client.get("/auth/login/", LOGIN_ACCEPTED[case]))
    assert response.status_code == 302
    watch.remember_verifiers(client)
    stored = json.dumps(client.session[FLOWS_KEY])
    assert len(stored) < 16_000
    (pending,) = client.session[FLOWS_KEY].values()
    assert pending["next"] == LOGIN_ACCEPTED[case].get("next", "/") or pending["next"] == "/"
    assert not pending["next"].startswith(("//", "https://", "javascript:", "/\\"))
    assert len(pending["next"]) <= 2048


def test_the_whole_sign_in_with_the_longest_accepted_parameters_works(watch, sign_in):
    client = Client()
    response = sign_in(client, "alice", next="/" + "n" * 2000, scopes="x" * 10)
    assert response.status_code in (302, 400)
    watch.response(response)


# -- the callback -----------------------------------------------------------------------


def pending_callback(idp, client: Client, username: str = "alice") -> dict[str, str]:
    start = client.get("/auth/login/")
    query = parse_qs(urlsplit(idp.sign_in(start["Location"], username)).query)
    return {k: v[0] for k, v in query.items()}


CALLBACK_CASES = {
    "state_missing": lambda p: {k: v for k, v in p.items() if k != "state"},
    "state_forged": lambda p: {**p, "state": "forged"},
    "state_huge": lambda p: {**p, "state": "s" * 100_000},
    "state_controls": lambda p: {**p, "state": p["state"] + FORGED},
    "state_nul": lambda p: {**p, "state": "\x00"},
    "code_garbage": lambda p: {**p, "code": "garbage"},
    "code_huge": lambda p: {**p, "code": "c" * 100_000},
    "code_controls": lambda p: {**p, "code": "x" + FORGED},
    "code_missing": lambda p: {k: v for k, v in p.items() if k != "code"},
    "code_empty": lambda p: {**p, "code": ""},
    "error_crlf": lambda p: {"state": p["state"], "error": "access_denied" + FORGED},
    "error_huge": lambda p: {"state": p["state"], "error": "e" * 100_000},
    "error_description_crlf_html": lambda p: {
        "state": p["state"],
        "error": "server_error",
        "error_description": "<script>alert(1)</script>" + FORGED * 100,
    },
    "error_with_a_code": lambda p: {**p, "error": "access_denied"},
    "session_state_odd": lambda p: {**p, "session_state": "s" + FORGED},
    "client_info_forged": lambda p: {
        **p,
        "client_info": base64.urlsafe_b64encode(b'{"uid":"victim","utid":"t"}').decode(),
    },
    "client_info_garbage": lambda p: {**p, "client_info": "%%%not-base64"},
    "unknown_parameters": lambda p: {**p, "id_token": "x.y.z", "access_token": "a" * 1000},
}


@pytest.mark.parametrize("case", sorted(CALLBACK_CASES))
def test_a_tampered_callback_is_never_a_500_and_touches_no_one_else(idp, watch, bystanders, case):
    client = Client()
    params = pending_callback(idp, client)
    watch.remember_verifiers(client)
    before = everyone()

    response = watch.response(client.get("/auth/callback/", CALLBACK_CASES[case](params)))

    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert "_auth_user_id" not in client.session
        assert everyone()[:2] == before[:2]
    assert_still_signed_in(*bystanders.values())


@pytest.mark.parametrize("repeat", ["code", "state"])
def test_a_repeated_callback_parameter_is_not_a_500(idp, watch, repeat):
    client = Client()
    params = pending_callback(idp, client)
    watch.remember_verifiers(client)
    query = urlencode(params) + f"&{repeat}=second"
    response = watch.response(client.get(f"/auth/callback/?{query}"))
    assert response.status_code in (302, 400)


def test_another_users_code_in_my_flow_signs_no_one_in(idp, watch, bystanders):
    victim, attacker = Client(), Client()
    victim_params = pending_callback(idp, victim, "alice")
    attacker_params = pending_callback(idp, attacker, "mallory")
    watch.remember_verifiers(victim)
    watch.remember_verifiers(attacker)
    stolen = {**attacker_params, "code": victim_params["code"]}
    response = watch.response(attacker.get("/auth/callback/", stolen))
    assert response.status_code == 400
    assert "_auth_user_id" not in attacker.session


def test_the_callback_masks_the_code_and_session_state_in_error_reports(idp, watch, monkeypatch):
    """Defect 7: a 500 after the code exchange (the database fails right then) is
    reported without the code or the provider's session_state."""
    from django.db import DatabaseError

    def database_fails(*args, **kwargs):
        raise DatabaseError("the database went away")

    monkeypatch.setattr("msal_django.signout.session_index.record_sign_in", database_fails)
    client = Client(raise_request_exception=False)
    params = pending_callback(idp, client)
    assert params["session_state"]
    watch.remember_verifiers(client)
    watch.extra_secrets.append(params["session_state"])
    with pytest.raises(AssertionError):  # the 500 itself
        watch.response(client.get("/auth/callback/", params))
    record = next(r for r in watch.capture.records if r.name == "django.request" and r.exc_info)
    reporter = ExceptionReporter(record.request, *record.exc_info, is_email=True)
    report = reporter.get_traceback_html() + reporter.get_traceback_text()
    assert "the database went away" in report
    assert "session_state=********" in report
    watch.assert_no_secret_in(report)


# -- sign-out: the logout view, front-channel and back-channel --------------------------


def test_logout_without_csrf_token_is_a_403_and_signs_no_one_out(watch, bystanders):
    alice = Client(enforce_csrf_checks=True)
    alice.cookies = bystanders["alice"].cookies
    response = watch.response(alice.post("/auth/logout/"))
    assert response.status_code == 403
    assert_still_signed_in(*bystanders.values())


@pytest.mark.parametrize(
    "query", ["next=https://evil.example/", "post_logout_redirect_uri=https://evil.example/"]
)
def test_logout_ignores_redirect_parameters(watch, bystanders, query):
    response = watch.response(bystanders["alice"].post(f"/auth/logout/?{query}"))
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
    assert_still_signed_in(bystanders["bob"])


def test_logout_sends_the_id_tokens_login_hint_as_logout_hint(idp, watch, sign_in):
    idp.login_hint_claim = True
    client = Client()
    sign_in(client, "alice")
    response = watch.response(client.post("/auth/logout/"))
    query = parse_qs(urlsplit(response["Location"]).query)
    alice = idp.users["alice"]
    expected = f"{alice.oid}.{alice.tid}@{idp.issuer}".encode()
    assert query["logout_hint"] == [base64.urlsafe_b64encode(expected).decode()]
    assert query["client_id"] == [CLIENT_ID]


def test_logout_sends_no_logout_hint_without_the_optional_claim(watch, alice_client):
    response = watch.response(alice_client.post("/auth/logout/"))
    assert response["Location"].startswith("https://")
    assert "logout_hint" not in parse_qs(urlsplit(response["Location"]).query)


FRONTCHANNEL_CASES = {
    "sid_huge": {"sid": "s" * 100_000},
    "sid_controls": {"sid": "sid" + FORGED},
    "sid_nul": {"sid": "\x00"},
    "sid_unicode": {"sid": "\u202e\u2028sid"},
    "iss_other": {"sid": "x", "iss": "https://evil.example/v2.0"},
    "iss_huge": {"sid": "x", "iss": "h" * 100_000},
    "iss_controls": {"sid": "x", "iss": "https://x" + FORGED},
    "iss_nul": {"sid": "x", "iss": "\x00"},
    "empty": {"sid": "", "iss": ""},
    "sql_like": {"sid": "' OR '1'='1"},
    "pattern_like": {"sid": "%", "iss": "*"},
}


@pytest.mark.parametrize("case", sorted(FRONTCHANNEL_CASES))
def test_odd_frontchannel_logouts_end_no_ones_session(watch, bystanders, case):
    before = everyone()
    response = watch.response(
        Client().get(
            "/auth/logout/frontchannel/",
            FRONTCHANNEL_CASES[case],
            HTTP_SEC_FETCH_SITE="cross-site",
        )
    )
    assert response.status_code == 200
    assert everyone() == before
    assert_still_signed_in(*bystanders.values())


def test_a_frontchannel_logout_with_repeated_sids_ends_at_most_the_last(watch, bystanders):
    bob_sid = bystanders["bob"].session[SESSION_SID_KEY]
    response = watch.response(
        Client().get(f"/auth/logout/frontchannel/?sid=nobody&sid={bob_sid}&sid=nobody")
    )
    assert response.status_code == 200
    assert_still_signed_in(*bystanders.values())


def _b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _valid_claims(idp, client: Client) -> dict:
    token = idp.logout_token(CLIENT_ID, "alice", client.session[SESSION_SID_KEY])
    return jwt.decode(token, options={"verify_signature": False})


def _post_logout_token(token: str, **extra):
    return Client().post(
        "/auth/logout/backchannel/",
        urlencode({"logout_token": token}),
        content_type="application/x-www-form-urlencoded",
        **extra,
    )


# JOSE headers an attacker writes (the signature is then the provider's, of another header).
HOSTILE_HEADERS = {
    "alg_list": {"alg": ["RS256"]},
    "alg_object": {"alg": {"RS256": True}},
    "alg_number": {"alg": 256},
    "alg_null": {"alg": None},
    "alg_true": {"alg": True},
    "alg_missing": {"kid": "k"},
    "alg_none": {"alg": "none"},
    "alg_hs256": {"alg": "HS256"},
    "alg_controls": {"alg": "RS256" + FORGED},
    "kid_object": {"alg": "RS256", "kid": {"kid": "x"}},
    "kid_list": {"alg": "RS256", "kid": ["a", "b"]},
    "kid_number": {"alg": "RS256", "kid": 1},
    "kid_huge": {"alg": "RS256", "kid": "k" * 10_000},
    "kid_controls": {"alg": "RS256", "kid": "k" + FORGED},
    "typ_list": {"alg": "RS256", "typ": ["JWT"]},
    "typ_object": {"alg": "RS256", "typ": {}},
    "typ_number": {"alg": "RS256", "typ": 1},
    "typ_controls": {"alg": "RS256", "typ": "JWT" + FORGED},
    "cty_list": {"alg": "RS256", "cty": ["JWT"]},
    "crit_string": {"alg": "RS256", "crit": "exp"},
    "crit_list_of_numbers": {"alg": "RS256", "crit": [1, 2]},
    "crit_object": {"alg": "RS256", "crit": {"b64": False}},
    "crit_empty": {"alg": "RS256", "crit": []},
    "crit_b64": {"alg": "RS256", "crit": ["b64"], "b64": False},
    "jku_elsewhere": {"alg": "RS256", "jku": "https://evil.example/keys"},
    "jwk_embedded": {"alg": "RS256", "jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}},
    "x5c_numbers": {"alg": "RS256", "x5c": [1]},
    "zip": {"alg": "RS256", "zip": "DEF"},
    "header_list": ["alg", "RS256"],
    "header_string": "RS256",
    "header_number": 7,
    "header_null": None,
}


@pytest.mark.parametrize("case", sorted(HOSTILE_HEADERS))
def test_a_logout_token_with_a_hostile_header_is_a_400(idp, watch, alice_client, case):
    logout_token.reset()
    _, payload, signature = idp.sign_jwt(_valid_claims(idp, alice_client)).split(".")
    before = everyone()
    token = f"{_b64(HOSTILE_HEADERS[case])}.{payload}.{signature}"
    response = watch.response(_post_logout_token(token))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert everyone() == before


def _without(claims: dict, name: str) -> dict:
    return {k: v for k, v in claims.items() if k != name}


# Claims only the provider's key can sign: the provider itself misbehaving.
HOSTILE_CLAIMS = {
    "iss_list": lambda c: {**c, "iss": [c["iss"]]},
    "iss_object": lambda c: {**c, "iss": {"iss": c["iss"]}},
    "iss_number": lambda c: {**c, "iss": 1},
    "aud_object": lambda c: {**c, "aud": {"aud": CLIENT_ID}},
    "aud_list_of_numbers": lambda c: {**c, "aud": [1, 2]},
    "aud_number": lambda c: {**c, "aud": 5},
    "iat_string": lambda c: {**c, "iat": str(c["iat"])},
    "iat_list": lambda c: {**c, "iat": [c["iat"]]},
    "iat_true": lambda c: {**c, "iat": True},
    "iat_infinite": lambda c: {**c, "iat": float("inf")},
    "iat_nan": lambda c: {**c, "iat": float("nan")},
    "iat_enormous": lambda c: {**c, "iat": 10**400},
    "exp_string": lambda c: {**c, "exp": "tomorrow"},
    "exp_infinite": lambda c: {**c, "exp": float("inf")},
    "nbf_object": lambda c: {**c, "nbf": {}},
    "jti_number": lambda c: {**c, "jti": 5},
    "jti_list": lambda c: {**c, "jti": ["a"]},
    "jti_empty": lambda c: {**c, "jti": ""},
    "jti_huge": lambda c: {**c, "jti": "j" * 5000},
    "sub_list": lambda c: {**c, "sub": [c["sub"]]},
    "sub_object": lambda c: {**c, "sub": {"$ne": None}},
    "sub_number": lambda c: {**c, "sub": 1},
    "sub_huge": lambda c: {**c, "sub": "s" * 5000},
    "sid_list": lambda c: {**c, "sid": [c["sid"]]},
    "sid_object": lambda c: {**c, "sid": {"sid": c["sid"]}},
    "sid_nul": lambda c: _without({**c, "sid": "\x00"}, "sub"),
    "jti_nul": lambda c: {**c, "jti": "\x00"},
    "sid_huge": lambda c: {**c, "sid": "s" * 5000},
    "sid_controls": lambda c: {**c, "sid": c["sid"] + FORGED},
    "sub_nul": lambda c: _without({**c, "sub": "\x00"}, "sid"),
    "events_list": lambda c: {**c, "events": [BACKCHANNEL_LOGOUT_EVENT]},
    "events_string": lambda c: {**c, "events": BACKCHANNEL_LOGOUT_EVENT},
    "events_null": lambda c: {**c, "events": None},
    "events_member_list": lambda c: {**c, "events": {BACKCHANNEL_LOGOUT_EVENT: []}},
    "nonce_null": lambda c: {**c, "nonce": None},
    "claims_are_a_list": lambda c: [c],
}


def _sign(idp, claims) -> str:
    """Signed with the provider's own key, whatever the claims (PyJWT's encode would
    refuse some of them): the provider itself misbehaving."""
    payload = json.dumps(claims).encode()
    key = idp._keys.signing_key  # the provider has no public API for arbitrary payloads
    return jwt.api_jws.encode(payload, key, algorithm="RS256", headers={"kid": idp.kid})


@pytest.mark.parametrize("case", sorted(HOSTILE_CLAIMS))
def test_a_logout_token_with_a_claim_of_the_wrong_type_is_a_400(idp, watch, alice_client, case):
    logout_token.reset()
    before = everyone()
    token = _sign(idp, HOSTILE_CLAIMS[case](_valid_claims(idp, alice_client)))
    response = watch.response(_post_logout_token(token))
    assert response.status_code == 400
    assert everyone() == before
    assert_still_signed_in(alice_client)


BACKCHANNEL_BODIES = {
    "json": ('{"logout_token": "x"}', "application/json"),
    "form_twice": ("logout_token=a&logout_token=b", "application/x-www-form-urlencoded"),
    "form_not_utf8": (b"logout_token=\xff\xfe", "application/x-www-form-urlencoded"),
    "form_empty": ("", "application/x-www-form-urlencoded"),
    "form_huge": ("logout_token=" + "a" * 40_000, "application/x-www-form-urlencoded"),
    "form_controls": ("logout_token=a.b.c%0d%0aforged", "application/x-www-form-urlencoded"),
    "form_nul": ("logout_token=%00.%00.%00", "application/x-www-form-urlencoded"),
    "text": ("logout_token=a.b.c", "text/plain"),
}


@pytest.mark.parametrize("case", sorted(BACKCHANNEL_BODIES))
def test_an_odd_backchannel_body_is_a_400(watch, alice_client, case):
    body, content_type = BACKCHANNEL_BODIES[case]
    before = everyone()
    response = watch.response(
        Client().post("/auth/logout/backchannel/", body, content_type=content_type)
    )
    assert response.status_code == 400
    assert everyone() == before


@pytest.mark.parametrize("length", ["-1", "abc", "99999999999999999999"])
def test_a_lying_content_length_is_a_400(watch, alice_client, length):
    response = watch.response(
        Client().post(
            "/auth/logout/backchannel/",
            "logout_token=a.b.c",
            content_type="application/x-www-form-urlencoded",
            CONTENT_LENGTH=length,
        )
    )
    assert response.status_code == 400


def test_a_valid_logout_token_ends_only_its_own_users_session(idp, watch, bystanders):
    logout_token.reset()
    token = idp.logout_token(CLIENT_ID, "alice", bystanders["alice"].session[SESSION_SID_KEY])
    response = watch.response(_post_logout_token(token))
    assert response.status_code == 200
    assert bystanders["alice"].get("/token/").status_code == 302
    assert_still_signed_in(bystanders["bob"])


# -- get_token ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        (["User.Read", "openid"], "User.Read"),
        (["offline_access", "User.Read", "profile"], "User.Read"),
    ],
)
def test_get_token_leaves_out_the_scopes_msal_adds_itself(
    rf, watch, alice_client, scopes, expected
):
    request = rf.get("/")
    request.session = alice_client.session
    request.user = get_user_model().objects.get()
    token = msal_django.get_token(request, scopes)
    assert jwt.decode(token, options={"verify_signature": False})["scp"] == expected


@pytest.mark.parametrize(
    ("scopes", "error"),
    [
        (["openid"], ValueError),
        (["openid", "profile", "offline_access"], ValueError),
        ([], ValueError),
        ("User.Read", TypeError),
    ],
)
def test_get_token_without_an_api_scope_is_a_clear_error(rf, alice_client, scopes, error):
    request = rf.get("/")
    request.session = alice_client.session
    request.user = get_user_model().objects.get()
    with pytest.raises(error, match="scope"):
        msal_django.get_token(request, scopes)


# -- the admin -----------------------------------------------------------------------------

ADMIN_QUERIES = [
    {"q": "\x00"},
    {"q": "a" * 10_000},
    {"q": "%' OR 1=1 --"},
    {"store": "nope"},
    {"expired": "maybe"},
    {"updated_at__gte": "not-a-date"},
    {"o": "99"},
    {"p": "999999999999999999999"},
    {"tenant_id": "\x00"},
]


@pytest.fixture
def admin_client(db, bystanders):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.mark.parametrize("query", ADMIN_QUERIES, ids=lambda q: next(iter(q)))
def test_odd_admin_queries_are_not_a_500(watch, admin_client, query):
    url = "/admin/msal_django/cachedaccount/"
    response = watch.response(admin_client.get(url, query))
    assert response.status_code in (200, 302, 400, 404)


@pytest.mark.parametrize("object_id", ["\x00", "9" * 30, "-1", "abc", "1 OR 1=1"])
def test_odd_admin_object_ids_are_not_a_500(watch, admin_client, bystanders, object_id):
    before = everyone()
    for suffix in ("change/", "revoke/"):
        url = f"/admin/msal_django/cachedaccount/{object_id}/{suffix}"
        response = watch.response(admin_client.get(url))
        assert response.status_code in (200, 302, 400, 404)
    assert everyone()[:2] == before[:2]


# -- msal_purge -----------------------------------------------------------------------------

PURGE_REFUSED = {
    "inactive_overflow": (("--inactive-for", "99999999999d"), "--inactive-for"),
    "inactive_underflow": (("--inactive-for", "999999d"), "--inactive-for"),
    "inactive_enormous": (("--inactive-for", "9" * 400 + "s"), "--inactive-for"),
    "inactive_negative": (("--inactive-for", "-1d"), "--inactive-for"),
    "inactive_empty": (("--inactive-for", " "), "--inactive-for"),
    "inactive_controls": (("--inactive-for", "1d" + FORGED), "--inactive-for"),
    "batch_zero": (("--all", "--no-input", "--batch-size", "0"), "--batch-size"),
    "batch_negative": (("--all", "--no-input", "--batch-size", "-1"), "--batch-size"),
    "batch_text": (("--all", "--no-input", "--batch-size", "many"), "--batch-size"),
    "batch_enormous": (("--all", "--no-input", "--batch-size", "9" * 30), "--batch-size"),
    "user_unknown": (("--user", "nobody"), "No user with the username"),
    "user_nul": (("--user", "a\x00b"), "No user with the username"),
    "user_huge": (("--user", "u" * 10_000), "No user with the username"),
    "user_id_text": (("--user-id", "alice"), "No user with the id"),
    "user_id_negative": (("--user-id", "-1"), "No user with the id"),
    "user_id_enormous": (("--user-id", "9" * 30), "No user with the id"),
    "user_id_nul": (("--user-id", "1\x00"), "No user with the id"),
    "user_id_unknown": (("--user-id", "987654"), "No user with the id"),
    "account_empty": (("--account", ""), "--account"),
    "account_nul": (("--account", "a\x00"), "--account"),
    "tenant_nul": (("--tenant", "\x00"), "--tenant"),
    "all_and_selector": (("--all", "--user", "alice@example.com"), "alone"),
    "nothing": ((), "Nothing selected"),
}


@pytest.mark.parametrize("case", sorted(PURGE_REFUSED))
def test_a_bad_purge_argument_is_a_clear_error_and_removes_nothing(watch, bystanders, case):
    args, message = PURGE_REFUSED[case]
    before = everyone()
    with pytest.raises(CommandError, match=message):
        call_command("msal_purge", *args)
    assert everyone() == before
    assert_still_signed_in(*bystanders.values())


def test_a_username_that_looks_like_another_users_id_selects_only_that_username(watch, bystanders):
    alice = get_user_model().objects.get(username="alice@example.com")
    bob = get_user_model().objects.get(username="bob@example.com")
    bob.username = str(alice.pk)  # bob's username is alice's id
    bob.save()
    call_command("msal_purge", "--user", str(alice.pk))
    assert set(CachedAccount.objects.values_list("user", flat=True)) == {alice.pk}
    call_command("msal_purge", "--user-id", str(alice.pk))
    assert not CachedAccount.objects.exists()


# -- error reports: the technical 500 page and the ADMINS e-mail --------------------------


def _private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _credential_settings(settings, kind: str) -> list[str]:
    """MSAL_DJANGO exactly as README documents each kind of credential; its secret parts."""
    config = {
        k: v
        for k, v in settings.MSAL_DJANGO.items()
        if k not in ("CLIENT_SECRET", "CLIENT_CREDENTIAL")
    }
    if kind == "secret":
        config["CLIENT_SECRET"] = CLIENT_SECRET
        secrets = [CLIENT_SECRET]
    else:
        pem = _private_key_pem()
        config["CLIENT_CREDENTIAL"] = {"private_key": pem, "thumbprint": "AB" * 20}
        body = "".join(pem.splitlines()[1:-1])
        secrets = [pem, body[:64], body[-64:]]  # any part of the key
    settings.MSAL_DJANGO = config
    return secrets


def _reports(client_kwargs: dict, settings, mailoutbox, url: str) -> list[str]:
    """The technical 500 page (HTML and text, DEBUG=True), then the ADMINS e-mail
    (DEBUG=False) with its HTML version rendered as AdminEmailHandler would."""
    # Django 6 takes addresses; 5.2 takes (name, address) pairs (deprecated in 6).
    settings.ADMINS = (
        ["ops@example.com"] if django.VERSION >= (6,) else [("Ops", "ops@example.com")]
    )
    reports = []
    settings.DEBUG = True
    for accept in ("text/html", "text/plain"):
        client = Client(raise_request_exception=False, **client_kwargs)
        response = client.get(url, HTTP_ACCEPT=accept)
        assert response.status_code == 500
        reports.append(response.content.decode())
    settings.DEBUG = False
    client = Client(raise_request_exception=False, **client_kwargs)
    assert client.get(url).status_code == 500
    (mail,) = mailoutbox
    reports.append(mail.subject + mail.body)
    return reports


@pytest.mark.parametrize("kind", ["secret", "certificate"])
def test_an_error_report_never_shows_the_client_credential(settings, mailoutbox, kind):
    secrets = _credential_settings(settings, kind)
    reports = _reports({}, settings, mailoutbox, "/boom/")
    for report in reports:
        assert "an unexpected failure in the site&#x27;s own view" in report or (
            "an unexpected failure in the site's own view" in report
        )
        assert "MSAL_DJANGO" in report
        assert [s[:12] for s in secrets if s in report] == []


WITHOUT_MIDDLEWARE = "msal_django.middleware.InteractionRequiredMiddleware"


def _session_cookie(client: Client) -> dict[str, str]:
    return {"HTTP_COOKIE": f"sessionid={client.cookies['sessionid'].value}"}


@pytest.mark.parametrize("kind", ["secret", "certificate"])
def test_a_provider_failure_inside_msal_reports_no_credential(
    settings, mailoutbox, alice_client, kind
):
    """The provider cannot be reached while MSAL builds its application (the credential
    is a local variable of MSAL's frames), in a site without the optional middleware."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != WITHOUT_MIDDLEWARE]
    secrets = _credential_settings(settings, kind)
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "AUTHORITY": "https://localhost:9/tenant"}
    reports = _reports(_session_cookie(alice_client), settings, mailoutbox, "/needs-token/")
    for report in reports:
        assert "ProviderError" in report
        assert [s[:12] for s in secrets if s in report] == []


@pytest.mark.parametrize(
    "failure",
    [
        {"error": None, "status": 200, "delay": 1.0},  # stops answering
        {"error": None, "status": 502},  # a plain HTTP error, no JSON
        {"error": "server_error", "status": 500},
        {"error": "invalid_client", "status": 401},  # refused: not transient
    ],
    ids=["timeout", "http_502", "server_error", "invalid_client"],
)
def test_a_failing_token_refresh_reports_no_secret(
    settings, mailoutbox, idp, sign_in, watch, failure
):
    """The token endpoint fails during a refresh (the refresh token and the client
    secret are in what MSAL and requests were sending), in a site without the middleware."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != WITHOUT_MIDDLEWARE]
    idp.access_token_lifetime = 60  # MSAL refreshes what expires within 5 minutes
    client = Client()
    sign_in(client, "alice")
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "TIMEOUT": 0.3}
    idp.inject("token", times=10, **failure)
    reports = _reports(_session_cookie(client), settings, mailoutbox, "/needs-token/")
    for report in reports:
        assert "ProviderError" in report
        watch.assert_no_secret_in(report)


def test_a_callback_that_fails_after_the_code_exchange_shows_no_secret_even_with_debug(
    idp, watch, settings, monkeypatch
):
    """DEBUG=True shows the local variables of every frame, sensitive_variables or not:
    the code, the PKCE verifier and the tokens are Secret values there."""
    from django.db import DatabaseError

    def database_fails(*args, **kwargs):
        raise DatabaseError("the database went away")

    monkeypatch.setattr("msal_django.signout.session_index.record_sign_in", database_fails)
    settings.DEBUG = True
    client = Client(raise_request_exception=False)
    params = pending_callback(idp, client)
    watch.remember_verifiers(client)
    response = client.get("/auth/callback/", params)
    assert response.status_code == 500
    page = response.content.decode()
    assert "the database went away" in page
    assert "session_state=********" in page
    assert "response_params" in page  # the callback's frame and its variables are shown
    watch.assert_no_secret_in(page)
