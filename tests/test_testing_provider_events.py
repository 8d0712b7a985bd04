"""The local provider plays Entra ID when an administrator acts on an account: refresh
tokens refused with Entra's codes, ``cp1`` tokens with ``xms_cc`` and the CAE lifetime, the
Graph-like API's claims challenge, and the users page. Driven with real MSAL."""

from __future__ import annotations

import base64
import json
import time

import jwt
import msal
import pytest

import msal_django
from msal_django.testing import IdentityProvider

# The provider takes the query response mode these tests use; MSAL recommends form_post.
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")

CLIENT = "msal-django-tests-events"
SECRET = "events-secret-0123456789"
REDIRECT = "http://127.0.0.1/callback"


@pytest.fixture
def app(idp: IdentityProvider):
    idp.register_client(CLIENT, SECRET, redirect_uris=[REDIRECT])

    def make(capabilities=None):
        return msal.ConfidentialClientApplication(
            CLIENT,
            client_credential=SECRET,
            authority=idp.authority,
            instance_discovery=False,
            http_client=idp.http_client(),
            client_capabilities=capabilities,
        )

    return make


def signed_in(idp, application, username="alice"):
    """MSAL's auth code flow through the provider: (application, MSAL's account)."""
    flow = application.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT)
    idp.consent(username, CLIENT, ["User.Read"])
    redirect = idp.sign_in(flow["auth_uri"], username)
    query = dict(part.split("=", 1) for part in redirect.split("?", 1)[1].split("&"))
    from urllib.parse import unquote

    result = application.acquire_token_by_auth_code_flow(
        flow, {k: unquote(v) for k, v in query.items()}
    )
    assert "access_token" in result, result
    return result, application.get_accounts()[0]


def refreshed(application, account):
    return application.acquire_token_silent_with_error(["User.Read"], account, force_refresh=True)


@pytest.mark.parametrize(
    ("event", "code"),
    [("disable_user", "AADSTS50057"), ("revoke_sessions", "AADSTS50173"),
     ("reset_password", "AADSTS50133")],
)  # fmt: skip
def test_an_event_refuses_the_refresh_tokens_issued_before_it(idp, app, event, code):
    application = app()
    _, account = signed_in(idp, application)
    getattr(idp, event)("alice")
    result = refreshed(application, account)
    assert result["error"] == "invalid_grant"
    assert result["error_description"].startswith(code)


def test_a_sign_in_after_a_revoke_works_and_a_disabled_user_cannot_sign_in(idp, app):
    idp.revoke_sessions("alice")
    application = app()
    _, account = signed_in(idp, application)
    assert "access_token" in refreshed(application, account)
    idp.disable_user("alice")
    flow = app().initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT)
    with pytest.raises(Exception, match="AADSTS50057"):
        idp.sign_in(flow["auth_uri"], "alice")
    idp.enable_user("alice")
    signed_in(idp, app())


def test_a_cp1_client_gets_xms_cc_and_the_cae_lifetime(idp, app):
    cae, _ = signed_in(idp, app(["cp1"]))
    plain, _ = signed_in(idp, app())
    cae_claims = jwt.decode(cae["access_token"], options={"verify_signature": False})
    plain_claims = jwt.decode(plain["access_token"], options={"verify_signature": False})
    assert cae_claims["xms_cc"] == ["cp1"]
    assert cae_claims["exp"] - cae_claims["iat"] == idp.cae_access_token_lifetime == 28 * 3600
    assert "xms_cc" not in plain_claims
    assert plain_claims["exp"] - plain_claims["iat"] == idp.access_token_lifetime


def graph(idp, token):
    return idp.http_client().get(idp.api_url, headers={"Authorization": f"Bearer {token}"})


def test_the_api_challenges_a_cp1_token_issued_before_an_event(idp, app):
    cae, _ = signed_in(idp, app(["cp1"]))
    plain, _ = signed_in(idp, app())
    time.sleep(1.01)  # the event is after the tokens' iat (whole seconds)
    idp.revoke_sessions("alice")
    answer = graph(idp, cae["access_token"])
    assert answer.status_code == 401
    header = answer.headers["WWW-Authenticate"]
    assert header.startswith(
        'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/'
        'authorize", client_id="00000003-0000-0000-c000-000000000000", '
        'error="insufficient_claims", claims="'
    )
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"
    claims = json.loads(msal_django.claims_challenge(answer))
    assert claims["access_token"]["nbf"]["essential"] is True
    encoded = header.split('claims="')[1].rstrip('"')
    assert json.loads(base64.b64decode(encoded)) == claims  # standard, padded base64
    assert graph(idp, plain["access_token"]).status_code == 200  # not CAE: until it expires


def test_a_claims_request_gets_a_new_token_while_the_account_stands(idp, app):
    application = app(["cp1"])
    first, account = signed_in(idp, application)
    claims = json.dumps({"access_token": {"nbf": {"essential": True, "value": "1"}}})
    again = application.acquire_token_silent_with_error(
        ["User.Read"], account, claims_challenge=claims
    )
    assert again["access_token"] != first["access_token"]
    assert graph(idp, again["access_token"]).status_code == 200


def test_the_users_page_disables_and_enables_a_user(idp, app):
    session = idp.http_client()
    page = session.get(f"{idp.base_url}/users/")
    assert page.status_code == 200
    assert "Alice Example" in page.text
    answer = session.post(f"{idp.base_url}/users/alice/", data={"action": "disable"})
    assert answer.status_code in (200, 302, 303)
    assert "(disabled)" in session.get(f"{idp.base_url}/users/").text
    application = app()
    flow = application.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT)
    with pytest.raises(Exception, match="AADSTS50057"):
        idp.sign_in(flow["auth_uri"], "alice")
    session.post(f"{idp.base_url}/users/alice/", data={"action": "enable"})
    signed_in(idp, app())
    refused = session.post(f"{idp.base_url}/users/alice/", data={"action": "explode"})
    assert refused.status_code == 400
