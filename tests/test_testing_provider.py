"""The local identity provider (msal_django.testing), driven by real MSAL over HTTPS."""

from __future__ import annotations

import gc
import socket
import subprocess
import sys
import threading
import time
import warnings
from urllib.parse import parse_qsl, urlsplit

import jwt
import msal
import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import msal_django.testing
from msal_django.testing import IdentityProvider, SignInError, http_client
from msal_django.testing.keys import CA_FILE, ProviderKeys

pytestmark = pytest.mark.filterwarnings("ignore:response_mode:UserWarning")

CLIENT_ID = "provider-tests"
CLIENT_SECRET = "provider-tests-secret"
REDIRECT_URI = "http://localhost:8000/auth/callback/"
POST_LOGOUT_URI = "http://localhost:8000/"
API_SCOPE = "api://provider-tests/Read"


@pytest.fixture(scope="module")
def receiver():
    """A plain HTTP server on loopback that keeps what is POSTed to it."""
    received = []

    @Request.application
    def app(request):
        received.append((request.path, request.form.to_dict()))
        return Response("ok")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}", received
    server.shutdown()
    thread.join()


@pytest.fixture
def client(idp, receiver):
    base, received = receiver
    received.clear()
    idp.register_client(
        CLIENT_ID,
        CLIENT_SECRET,
        redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=[POST_LOGOUT_URI],
        frontchannel_logout_uri="http://localhost:8000/auth/frontchannel-logout/",
        backchannel_logout_uri=f"{base}/backchannel/{CLIENT_ID}",
    )
    return CLIENT_ID


def make_app(idp, client_id=CLIENT_ID, secret=CLIENT_SECRET, token_cache=None):
    # A new app also means a new MSAL http cache, which throttles a repeated request
    # that got a 400 (60 s) or a 5xx (5 s).
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=secret,
        authority=idp.authority,
        instance_discovery=False,
        http_client=idp.http_client(),
        token_cache=token_cache,
    )


def query(url):
    return dict(parse_qsl(urlsplit(url).query))


def sign_in(idp, app, username="alice", scopes=(API_SCOPE,), browser=None, **kwargs):
    flow = app.initiate_auth_code_flow(list(scopes), redirect_uri=REDIRECT_URI, **kwargs)
    return flow, query(idp.sign_in(flow["auth_uri"], username, browser=browser))


def signed_in(idp, app, username="alice", **kwargs):
    flow, response = sign_in(idp, app, username, **kwargs)
    result = app.acquire_token_by_auth_code_flow(flow, response)
    assert "access_token" in result, result
    return result, app.get_accounts()[0]


def token_post(idp, **data):
    return idp.http_client().post(f"{idp.authority}/oauth2/v2.0/token", data=data, timeout=5)


def test_auth_code_flow_gives_tokens_and_an_oid_tid_account(idp, client):
    app = make_app(idp)
    flow, response = sign_in(idp, app, "carol")
    assert set(response) >= {"code", "state", "client_info", "session_state"}

    result = app.acquire_token_by_auth_code_flow(flow, response)

    user = idp.users["carol"]
    claims = result["id_token_claims"]
    assert app.get_accounts()[0]["home_account_id"] == f"{user.oid}.{user.tid}"
    assert claims["oid"] == user.oid
    assert claims["tid"] == idp.tenant_id
    assert claims["aud"] == CLIENT_ID
    assert claims["iss"] == idp.issuer
    assert claims["sid"] == response["session_state"]
    assert claims["preferred_username"] == "carol@example.com"
    assert result["refresh_token"]
    assert result["scope"] == API_SCOPE
    access = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert access["aud"] == "api://provider-tests"
    assert access["scp"] == "Read"
    assert access["azp"] == CLIENT_ID
    assert access["sub"] == claims["sub"] != user.oid


def test_id_token_and_jwks_verify_with_pyjwt(idp, client):
    app = make_app(idp)
    result, _ = signed_in(idp, app)
    jwks = idp.http_client().get(f"{idp.authority}/discovery/v2.0/keys", timeout=5).json()

    key = jwt.PyJWKSet.from_dict(jwks)[idp.kid]
    claims = jwt.decode(
        result["id_token"], key, algorithms=["RS256"], audience=CLIENT_ID, issuer=idp.issuer
    )

    assert jwt.get_unverified_header(result["id_token"])["kid"] == idp.kid
    assert claims["nonce"]


def test_discovery_document_is_entra_like(idp):
    config = idp.http_client().get(f"{idp.issuer}/.well-known/openid-configuration").json()

    assert config["issuer"] == idp.issuer
    assert config["end_session_endpoint"] == f"{idp.authority}/oauth2/v2.0/logout"
    assert config["frontchannel_logout_supported"] is True
    assert config["backchannel_logout_session_supported"] is True
    assert config["code_challenge_methods_supported"] == ["S256"]


def test_unknown_tenant_is_rejected(idp):
    response = idp.http_client().get(
        f"{idp.base_url}/other-tenant/v2.0/.well-known/openid-configuration"
    )

    assert response.status_code == 400
    assert response.json()["error_codes"] == [90002]
    with pytest.raises(ValueError, match="authority configuration"):
        msal.ConfidentialClientApplication(
            CLIENT_ID,
            client_credential=CLIENT_SECRET,
            authority=f"{idp.base_url}/other-tenant",
            instance_discovery=False,
            http_client=idp.http_client(),
        )


def test_silent_cache_hit_makes_no_token_request(idp, client):
    app = make_app(idp)
    _, account = signed_in(idp, app)
    before = idp.count("token")

    result = app.acquire_token_silent([API_SCOPE], account)

    assert result["token_source"] == "cache"
    assert idp.count("token") == before == 1


def test_expired_access_token_is_refreshed_once(idp, client):
    idp.access_token_lifetime = 1
    app = make_app(idp)
    _, account = signed_in(idp, app)

    result = app.acquire_token_silent([API_SCOPE], account)

    assert result["token_source"] == "identity_provider"
    assert idp.count("token", grant_type="refresh_token") == 1
    assert result["id_token_claims"]["oid"] == account["local_account_id"]


def test_replayed_code_fails_and_revokes_its_tokens(idp, client):
    app = make_app(idp)
    flow, response = sign_in(idp, app)
    replay_flow = dict(flow)
    _, account = app.acquire_token_by_auth_code_flow(flow, response), app.get_accounts()[0]

    replay = make_app(idp).acquire_token_by_auth_code_flow(replay_flow, response)
    refresh = app.acquire_token_silent_with_error([API_SCOPE], account, force_refresh=True)

    assert replay["error"] == "invalid_grant"
    assert replay["error_codes"] == [54005]
    assert refresh["error"] == "invalid_grant"
    assert refresh["error_codes"] == [50173]


def test_pkce_mismatch_fails(idp, client):
    app = make_app(idp)
    flow, response = sign_in(idp, app)
    flow["code_verifier"] = "x" * 43

    result = app.acquire_token_by_auth_code_flow(flow, response)

    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [50148]


def test_authorize_requires_pkce_and_a_registered_redirect_uri(idp, client):
    app = make_app(idp)
    flow = app.initiate_auth_code_flow([API_SCOPE], redirect_uri=REDIRECT_URI)
    without_pkce = flow["auth_uri"].replace("code_challenge_method=S256", "")
    elsewhere = app.initiate_auth_code_flow([API_SCOPE], redirect_uri="https://evil.example/")

    with pytest.raises(SignInError, match="AADSTS9002325"):
        idp.sign_in(without_pkce, "alice")
    with pytest.raises(SignInError, match="AADSTS50011"):
        idp.sign_in(elsewhere["auth_uri"], "alice")


def test_wrong_client_secret_is_invalid_client(idp, client):
    response = token_post(
        idp, client_id=CLIENT_ID, client_secret="nope", grant_type="refresh_token"
    )

    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["error_description"].startswith("AADSTS7000215: ")
    assert {"timestamp", "trace_id", "correlation_id", "error_codes"} <= set(body)


def test_revoked_refresh_tokens_get_invalid_grant(idp, client):
    app = make_app(idp)
    _, account = signed_in(idp, app)

    idp.revoke_refresh_tokens("alice")
    result = app.acquire_token_silent_with_error([API_SCOPE], account, force_refresh=True)

    assert result["error"] == "invalid_grant"
    assert "suberror" not in result
    assert result["error_codes"] == [50173]


def test_strict_rotation_invalidates_a_used_refresh_token(idp, client):
    app = make_app(idp)
    result, _ = signed_in(idp, app)
    first = result["refresh_token"]
    data = dict(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, grant_type="refresh_token")

    assert token_post(idp, refresh_token=first, **data).status_code == 200
    assert token_post(idp, refresh_token=first, **data).status_code == 200  # Entra's way
    idp.strict_refresh_token_rotation = True
    rotated = token_post(idp, refresh_token=first, **data)

    assert rotated.json()["error"] == "invalid_grant"


def test_new_scope_without_consent_needs_interaction(idp, client):
    app = make_app(idp)
    _, account = signed_in(idp, app)
    write = "api://provider-tests/Write"

    result = app.acquire_token_silent_with_error([write], account)
    idp.consent("alice", CLIENT_ID, [write])
    again = make_app(idp, token_cache=app.token_cache)
    granted = again.acquire_token_silent_with_error([write], account)

    assert result["error"] == "invalid_grant"
    assert result["suberror"] == result["classification"] == "consent_required"
    assert result["error_codes"] == [65001]
    assert "access_token" in granted


def test_scopes_of_two_resources_are_refused(idp, client):
    app = make_app(idp)
    flow, response = sign_in(idp, app, scopes=[API_SCOPE, "User.Read"])

    result = app.acquire_token_by_auth_code_flow(flow, response)

    assert result["error"] == "invalid_scope"
    assert result["error_codes"] == [28000]


def test_injected_server_error_and_delay(idp, client):
    app = make_app(idp)
    _, account = signed_in(idp, app)

    idp.inject("token", error=None, status=503)
    with pytest.raises(msal.exceptions.MsalServiceError):
        app.acquire_token_silent([API_SCOPE], account, force_refresh=True)
    idp.inject("token", error="invalid_grant", suberror="basic_action")
    failed = make_app(idp, token_cache=app.token_cache).acquire_token_silent_with_error(
        [API_SCOPE], account, force_refresh=True
    )
    assert failed["error"] == "invalid_grant"
    assert failed["suberror"] == "basic_action"
    assert failed["error_description"].startswith("AADSTS50173: ")

    idp.inject("token", error=None, status=200, delay=0.3)
    started = time.monotonic()
    slow = make_app(idp, token_cache=app.token_cache).acquire_token_silent(
        [API_SCOPE], account, force_refresh=True
    )
    assert time.monotonic() - started >= 0.3
    assert "access_token" in slow


def test_injected_authorize_error_goes_back_to_the_client(idp, client):
    app = make_app(idp)
    idp.inject("authorize", error="temporarily_unavailable")

    flow, response = sign_in(idp, app)

    assert response["error"] == "temporarily_unavailable"
    assert response["state"] == flow["state"]


def test_api_accepts_access_tokens_only(idp, client):
    app = make_app(idp)
    result, _ = signed_in(idp, app)
    http = idp.http_client()

    good = http.get(idp.api_url, headers={"Authorization": f"Bearer {result['access_token']}"})
    missing = http.get(idp.api_url)
    id_token = http.get(idp.api_url, headers={"Authorization": f"Bearer {result['id_token']}"})

    assert good.status_code == 200
    assert good.json()["id"] == idp.users["alice"].oid
    assert good.json()["scopes"] == ["Read"]
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert id_token.status_code == 401
    assert 'error="invalid_token"' in id_token.headers["WWW-Authenticate"]
    assert idp.count("api") == 3


def test_second_app_in_the_same_browser_continues_the_session(idp, client):
    idp.register_client("other-app", "other-secret", redirect_uris=[REDIRECT_URI])
    browser = idp.http_client()
    _, first = sign_in(idp, make_app(idp), browser=browser)
    other = make_app(idp, "other-app", "other-secret")
    flow = other.initiate_auth_code_flow([API_SCOPE], redirect_uri=REDIRECT_URI)

    page = browser.get(flow["auth_uri"]).text
    _, second = sign_in(idp, other, browser=browser)
    _, silent = sign_in(idp, other, browser=browser, prompt="none")

    assert "Continue as Alice" in page
    assert first["session_state"] == second["session_state"] == silent["session_state"]
    assert "code" in silent


def test_prompt_none_without_a_session_needs_login(idp, client):
    flow, response = sign_in(idp, make_app(idp), prompt="none")

    assert response["error"] == "login_required"
    assert response["state"] == flow["state"]


def test_cancel_and_declined_consent_are_access_denied(idp, client):
    app = make_app(idp)
    flow = app.initiate_auth_code_flow([API_SCOPE], redirect_uri=REDIRECT_URI)
    http = idp.http_client()
    page = http.get(flow["auth_uri"]).text
    request_id = page.split('name="request_id" value="', 1)[1].split('"', 1)[0]

    cancelled = http.post(
        flow["auth_uri"].split("?")[0],
        data={"request_id": request_id, "action": "cancel"},
        allow_redirects=False,
    )
    declined = idp.sign_in(
        app.initiate_auth_code_flow([API_SCOPE], redirect_uri=REDIRECT_URI)["auth_uri"],
        "dave",
        consent=False,
    )

    assert query(cancelled.headers["Location"])["error"] == "access_denied"
    assert query(declined)["error"] == "access_denied"


def test_form_post_response_mode(idp, client):
    app = make_app(idp)
    flow, response = sign_in(idp, app, response_mode="form_post")

    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, response)


def test_end_session_logs_out_everywhere(idp, client, receiver):
    _, received = receiver
    idp.register_client(
        "other-app",
        "other-secret",
        redirect_uris=[REDIRECT_URI],
        backchannel_logout_uri=f"{receiver[0]}/backchannel/other-app",
    )
    browser = idp.http_client()
    app = make_app(idp)
    result, account = signed_in(idp, app, browser=browser)
    signed_in(idp, make_app(idp, "other-app", "other-secret"), browser=browser)
    sid = result["id_token_claims"]["sid"]
    logout_url = (
        f"{idp.authority}/oauth2/v2.0/logout?post_logout_redirect_uri={POST_LOGOUT_URI}"
        f"&id_token_hint={result['id_token']}&state=xyz"
    )

    signed_out = idp.sign_out(logout_url, browser=browser)

    assert signed_out.redirect_url == f"{POST_LOGOUT_URI}?state=xyz"
    assert signed_out.frontchannel_logout_urls == [
        "http://localhost:8000/auth/frontchannel-logout/?"
        + f"iss={idp.issuer.replace(':', '%3A').replace('/', '%2F')}&sid={sid}"
    ]
    assert sorted(path for path, _ in received) == [
        "/backchannel/other-app",
        f"/backchannel/{CLIENT_ID}",
    ]
    jwks = jwt.PyJWKSet.from_dict(
        idp.http_client().get(f"{idp.authority}/discovery/v2.0/keys").json()
    )
    for path, form in received:
        audience = path.rsplit("/", 1)[1]
        token = form["logout_token"]
        claims = jwt.decode(
            token, jwks[idp.kid], algorithms=["RS256"], audience=audience, issuer=idp.issuer
        )
        assert jwt.get_unverified_header(token)["typ"] == "logout+jwt"
        assert claims["sid"] == sid
        assert "http://schemas.openid.net/event/backchannel-logout" in (claims["events"])
        assert "nonce" not in claims
    assert claims["exp"] - claims["iat"] == 120
    assert [b.status_code for b in idp.backchannel_logouts] == [200, 200]
    refresh = app.acquire_token_silent_with_error([API_SCOPE], account, force_refresh=True)
    assert refresh["error"] == "invalid_grant"
    assert idp.sign_in(
        app.initiate_auth_code_flow([API_SCOPE], redirect_uri=REDIRECT_URI, prompt="none")[
            "auth_uri"
        ],
        "alice",
        browser=browser,
    ).startswith(REDIRECT_URI + "?error=login_required")


def test_end_session_never_redirects_to_an_unregistered_uri(idp, client):
    page = idp.sign_out(
        f"{idp.authority}/oauth2/v2.0/logout?post_logout_redirect_uri=https://evil.example/"
        f"&client_id={CLIENT_ID}"
    )

    assert page.redirect_url is None
    assert page.frontchannel_logout_urls == []


def test_recorded_requests_hold_no_secrets(idp, client):
    result, _ = signed_in(idp, make_app(idp))

    recorded = repr(idp.requests)

    assert CLIENT_SECRET not in recorded
    assert result["refresh_token"] not in recorded
    assert "?" not in recorded
    assert [r.endpoint for r in idp.requests] == ["discovery", "authorize", "authorize", "token"]


def test_a_stalled_connection_does_not_block_the_provider(idp):
    with socket.create_connection(("127.0.0.1", idp.port)):  # Never starts TLS.
        response = idp.http_client().get(f"{idp.authority}/discovery/v2.0/keys", timeout=3)

    assert response.status_code == 200


def test_http_client_trusts_the_running_provider(idp, monkeypatch):
    monkeypatch.delenv("MSAL_DJANGO_TESTING_CA_FILE", raising=False)
    session = http_client()

    assert session.trust_env is False
    assert session.get(f"{idp.issuer}/.well-known/openid-configuration").ok
    monkeypatch.setenv("MSAL_DJANGO_TESTING_CA_FILE", "/nonexistent/ca.pem")
    assert http_client().verify == "/nonexistent/ca.pem"


def test_state_dir_keeps_ca_and_signing_key(tmp_path):
    with IdentityProvider(state_dir=tmp_path) as first:
        ca, kid = (tmp_path / "ca.pem").read_bytes(), first.kid
        assert first.ca_file == str(tmp_path / "ca.pem")

    with IdentityProvider(state_dir=tmp_path) as second:
        assert second.kid == kid
        assert (tmp_path / "ca.pem").read_bytes() == ca
        assert second.http_client().get(f"{second.issuer}/.well-known/openid-configuration").ok
    with pytest.raises(requests.exceptions.SSLError), IdentityProvider() as stranger:
        second.http_client().get(f"{stranger.issuer}/.well-known/openid-configuration")


def test_command_line_help():
    result = subprocess.run(
        [sys.executable, "-m", "msal_django.testing", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 0
    assert "--state-dir" in result.stdout
    assert "--backchannel-logout-uri" in result.stdout


def test_public_names():
    assert set(msal_django.testing.__all__) >= {"IdentityProvider", "TestUser", "http_client"}
    assert msal_django.testing.TestUser.__test__ is False  # pytest must not collect it


def test_failed_back_channel_logout_does_not_break_the_end_session(idp):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_uri = f"http://127.0.0.1:{closed.getsockname()[1]}/backchannel/"
    idp.register_client(
        "dead-end", "secret", redirect_uris=[REDIRECT_URI], backchannel_logout_uri=dead_uri
    )
    app = make_app(idp, "dead-end", "secret")
    browser = idp.http_client()
    signed_in(idp, app, browser=browser)

    result = idp.sign_out(f"{idp.authority}/oauth2/v2.0/logout", browser=browser)

    assert result.redirect_url is None
    assert [(b.uri, b.status_code, b.error) for b in idp.backchannel_logouts] == [
        (dead_uri, None, "ConnectionError")
    ]


def test_a_provider_removes_its_key_directory_without_a_resource_warning():
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        keys = ProviderKeys()
        directory = keys.directory
        assert (directory / CA_FILE).exists()
        del keys
        gc.collect()
    assert not directory.exists()
    # Only warnings about this directory: the collection may find other tests' garbage.
    assert [str(w.message) for w in caught if str(directory) in str(w.message)] == []
