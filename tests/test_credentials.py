"""Secretless credentials: a certificate (PEM or PFX), a callable's assertion, a federated
token in a file (Kubernetes workload identity) and a managed identity, each proving the
app to the local provider for every grant. The suite's client is registered there
without a secret, so a request that authenticated at all authenticated with the
credential under test (a secret would be refused, AADSTS7000215)."""

from __future__ import annotations

import base64
import os
import time
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from django.test import Client

import msal_django
from msal_django import credentials
from msal_django.checks import check_settings
from msal_django.models import CachedAccount
from msal_django.testing import client_certificate
from msal_django.tokens.session_check import Outcome, check_account

from .conftest import CLIENT_ID, CLIENT_SECRET, HIDDEN, REDIRECT_URI, SPA_ID

API = f"api://{CLIENT_ID}"
KINDS = ["certificate", "pfx", "assertion", "file", "managed_identity"]
WORKLOAD_SUBJECT = "system:serviceaccount:web:msal-django-site"

# What the "assertion" kind's callable signs with, and how often it was called.
_signer: dict[str, str] = {}
_calls: list[int] = []


def sign_assertion() -> str:
    """``CLIENT_ASSERTION``'s callable in these tests: RS256 with the SHA-1 thumbprint, the
    older form MSAL also sends (the package itself signs PS256 with ``x5t#S256``)."""
    _calls.append(1)
    now = int(time.time())
    claims: dict[str, object] = {"aud": _signer["audience"], "iss": CLIENT_ID, "sub": CLIENT_ID}
    claims |= {"jti": os.urandom(8).hex(), "nbf": now, "exp": now + 600}
    headers = {"x5t": _signer["x5t"]}
    return jwt.encode(claims, _signer["key"], algorithm="RS256", headers=headers)


def x5t(cert) -> str:
    """A certificate's SHA-1 thumbprint as a JWT header names it (base64url)."""
    return base64.urlsafe_b64encode(bytes.fromhex(cert.thumbprint)).rstrip(b"=").decode()


def failing_assertion() -> str:
    raise RuntimeError("the key vault is unreachable")


def hide(*values: str) -> None:
    """Have the log scan look for each value and each line of it (a PEM's body)."""
    for value in values:
        HIDDEN.append(value)
        HIDDEN.extend(line for line in value.splitlines() if len(line) > 20)


@pytest.fixture
def no_secret_client(idp):
    """The suite's client registered without a secret; the secret back afterwards."""
    register = dict(redirect_uris=[REDIRECT_URI], post_logout_redirect_uris=["http://testserver/"])
    idp.register_client(CLIENT_ID, None, **register)
    yield idp
    idp.register_client(CLIENT_ID, CLIENT_SECRET, **register)


def configure(settings, **credential) -> None:
    config = {k: v for k, v in settings.MSAL_DJANGO.items() if k not in credentials.CREDENTIAL_KEYS}
    settings.MSAL_DJANGO = {**config, **credential}


@pytest.fixture
def use_credential(request, settings, no_secret_client, tmp_path, monkeypatch):
    """Set up one kind of credential at the provider and in the settings; returns a
    callable taking the kind."""
    idp = no_secret_client

    def use(kind: str) -> None:
        if kind in ("certificate", "pfx", "assertion"):
            cert = client_certificate("msal-django-tests credential")
            idp.add_client_certificate(CLIENT_ID, cert)
            hide(cert.private_key_pem)
        if kind == "certificate":
            key, crt = cert.write(tmp_path)
            configure(
                settings, CLIENT_CERTIFICATE={"private_key_path": key, "certificate_path": crt}
            )
        elif kind == "pfx":
            (tmp_path / "app.pfx").write_bytes(cert.pfx("pfx-pass-0123"))
            pfx = {"pfx_path": str(tmp_path / "app.pfx"), "passphrase": "pfx-pass-0123"}
            configure(settings, CLIENT_CERTIFICATE=pfx)
        elif kind == "assertion":
            _signer.clear()
            _calls.clear()
            _signer.update(
                key=cert.private_key_pem,
                x5t=x5t(cert),
                audience=f"{idp.authority}/oauth2/v2.0/token",
            )
            configure(settings, CLIENT_ASSERTION=f"{__name__}.sign_assertion")
        elif kind == "file":
            idp.add_federated_credential(CLIENT_ID, idp.workload_issuer, WORKLOAD_SUBJECT)
            path = tmp_path / "azure-identity-token"
            path.write_text(idp.workload_identity_token(WORKLOAD_SUBJECT))
            configure(settings, CLIENT_ASSERTION_FILE=str(path))
        elif kind == "managed_identity":
            identity = idp.add_managed_identity()
            idp.add_federated_credential(CLIENT_ID, idp.issuer, identity.object_id)
            for name, value in idp.managed_identity_environment().items():
                monkeypatch.setenv(name, value)
            configure(settings, MANAGED_IDENTITY={"client_id": identity.client_id})
        assert check_settings() == []

    return use


def _graph_me_on_behalf_of(idp) -> int:
    token = idp.access_token_for("alice", SPA_ID, [f"{API}/access_as_user"])
    response = Client().get(
        f"/api/graph-me/?api={idp.api_url}", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    return response.status_code


# -- every grant, every kind, both stores -----------------------------------------------


@pytest.mark.usefixtures("api_clients")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", KINDS)
def test_each_credential_serves_sign_in_refresh_on_behalf_of_and_app_tokens(
    idp, use_credential, store_backend, sign_in, kind
):
    use_credential(kind)
    client = Client()
    assert sign_in(client, "alice").status_code == 302
    assert idp.count("token", grant_type="authorization_code") == 1
    assert client.get("/token/", {"scopes": "User.Read"}).status_code == 200
    # The session check redeems the refresh token with the same credential.
    assert check_account(CachedAccount.objects.get().home_account_id) is Outcome.VALID
    assert idp.count("token", grant_type="refresh_token") == 1
    idp.consent("alice", CLIENT_ID, ["User.Read"])
    assert _graph_me_on_behalf_of(idp) == 200
    idp.grant_app_roles(CLIENT_ID, "https://graph.microsoft.com", ["User.Read.All"])
    assert msal_django.get_app_token(["https://graph.microsoft.com/.default"])
    assert idp.count("token", grant_type="client_credentials") == 1
    refused = [r for r in idp.requests if r.endpoint == "token" and r.client_id != CLIENT_ID]
    assert refused == []


# -- how often each credential is used ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_cached_token_calls_the_assertion_callable_zero_times(idp, use_credential, sign_in):
    use_credential("assertion")
    client = Client()
    sign_in(client, "alice")
    calls = len(_calls)
    assert calls >= 1
    for _ in range(3):
        assert client.get("/token/", {"scopes": "User.Read"}).status_code == 200
    assert len(_calls) == calls
    assert idp.count("token") == 1


@pytest.mark.django_db(transaction=True)
def test_a_certificate_assertion_is_signed_once_and_reused(idp, use_credential, sign_in):
    use_credential("certificate")
    sign_in(Client(), "alice")
    sign_in(Client(), "bob")
    first = credentials.msal_credential(None)["client_assertion"]
    assert first() == first()  # reused, as MSAL reuses its own for minutes
    assert jwt.get_unverified_header(first())["alg"] == "PS256"
    assert "x5c" not in jwt.get_unverified_header(first())


@pytest.mark.django_db(transaction=True)
def test_the_managed_identity_token_is_fetched_once_for_many_grants(idp, use_credential, sign_in):
    use_credential("managed_identity")
    sign_in(Client(), "alice")
    sign_in(Client(), "bob")
    idp.grant_app_roles(CLIENT_ID, "https://graph.microsoft.com", ["User.Read.All"])
    msal_django.get_app_token(["https://graph.microsoft.com/.default"])
    assert idp.count("token") == 3
    assert idp.count("managed_identity") == 1


@pytest.mark.django_db(transaction=True)
def test_a_rotated_token_file_is_read_again(idp, use_credential, sign_in, settings):
    use_credential("file")
    path = Path(settings.MSAL_DJANGO["CLIENT_ASSERTION_FILE"])
    # Kubernetes' rotation: an expired token is replaced by a fresh one through a rename.
    path.write_text(
        idp.workload_identity_token(WORKLOAD_SUBJECT, lifetime=60, issued_at=time.time() - 3600)
    )
    assert sign_in(Client(), "alice").status_code == 503  # the provider refused it
    fresh = path.with_name("fresh")
    fresh.write_text(idp.workload_identity_token(WORKLOAD_SUBJECT))
    fresh.replace(path)
    assert sign_in(Client(), "alice").status_code == 302


def test_the_file_is_read_only_when_it_changed(tmp_path, monkeypatch):
    path = tmp_path / "token"
    path.write_text("first-token\n")
    assertion = credentials.FileAssertion(str(path))
    reads = []
    read_text = Path.read_text
    # Counting reads needs a wrapper: nothing else can tell a read from a cached answer.
    monkeypatch.setattr(
        Path, "read_text", lambda self, **kw: reads.append(1) or read_text(self, **kw)
    )
    assert [assertion() for _ in range(5)] == ["first-token"] * 5
    assert len(reads) == 1
    replacement = tmp_path / "next"
    replacement.write_text("second-token")
    replacement.replace(path)
    assert assertion() == "second-token"
    assert len(reads) == 2


@pytest.mark.django_db(transaction=True)
def test_azure_federated_token_file_is_the_credential_when_none_is_set(
    idp, use_credential, sign_in, settings, monkeypatch
):
    use_credential("file")
    path = settings.MSAL_DJANGO["CLIENT_ASSERTION_FILE"]
    configure(settings)  # no credential at all
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", path)
    assert check_settings() == []
    assert sign_in(Client(), "alice").status_code == 302


# -- refusals -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_certificate_the_app_registration_does_not_hold_is_refused(
    idp, use_credential, sign_in, settings, tmp_path, caplog
):
    use_credential("certificate")
    other = client_certificate("not uploaded", new_key=True)
    hide(other.private_key_pem)
    key, crt = other.write(tmp_path / "other")
    configure(settings, CLIENT_CERTIFICATE={"private_key_path": key, "certificate_path": crt})
    response = sign_in(Client(), "alice")
    assert response.status_code == 503
    assert CachedAccount.objects.count() == 0
    # The operator learns which: Entra ID's code for a certificate it does not hold.
    assert "refused the app's credential (invalid_client AADSTS700027)" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_forged_assertion_is_refused(idp, use_credential, sign_in):
    use_credential("assertion")
    forger = client_certificate("forger", new_key=True)
    _signer["key"] = forger.private_key_pem  # still naming the registered certificate
    hide(forger.private_key_pem)
    assert sign_in(Client(), "alice").status_code == 503
    assert CachedAccount.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_failing_assertion_callable_is_a_503_and_a_log_line(
    idp, use_credential, sign_in, settings, caplog
):
    use_credential("assertion")
    configure(settings, CLIENT_ASSERTION=f"{__name__}.failing_assertion")
    assert sign_in(Client(), "alice").status_code == 503
    assert "the key vault is unreachable" in caplog.text
    assert idp.count("token") == 0


# -- the system checks ----------------------------------------------------------------


def _ids(settings, **credential) -> list[str]:
    configure(settings, **credential)
    return [str(message.id) for message in check_settings()]


def test_two_credentials_or_none_are_errors(settings, tmp_path):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "CLIENT_ASSERTION": "os.getcwd"}
    assert [m.id for m in check_settings()] == ["msal_django.E023"]
    assert _ids(settings) == ["msal_django.E003"]


@pytest.mark.parametrize(
    "problem",
    [
        "missing key",
        "not a key",
        "not a certificate",
        "wrong pair",
        "wrong passphrase",
        "not a pfx",
        "no paths",
        "encrypted key without passphrase",
    ],
)
def test_an_unusable_certificate_is_e050(settings, tmp_path, problem):
    cert = client_certificate("msal-django-tests credential")
    key, crt = cert.write(tmp_path)
    other_key, _ = client_certificate("other", new_key=True).write(tmp_path / "other")
    (tmp_path / "app.pfx").write_bytes(cert.pfx("right"))
    encrypted = cert.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret-pass"),
    )
    (tmp_path / "encrypted.pem").write_bytes(encrypted)
    value = {
        "missing key": {"private_key_path": str(tmp_path / "nope.pem"), "certificate_path": crt},
        "not a key": {"private_key_path": crt, "certificate_path": crt},
        "not a certificate": {"private_key_path": key, "certificate_path": key},
        "wrong pair": {"private_key_path": other_key, "certificate_path": crt},
        "wrong passphrase": {"pfx_path": str(tmp_path / "app.pfx"), "passphrase": "wrong"},
        "not a pfx": {"pfx_path": crt},
        "no paths": {"private_key": "-----BEGIN PRIVATE KEY-----"},
        "encrypted key without passphrase": {
            "private_key_path": str(tmp_path / "encrypted.pem"),
            "certificate_path": crt,
        },
    }[problem]
    configure(settings, CLIENT_CERTIFICATE=value)
    [message] = check_settings()
    assert message.id == "msal_django.E050"
    assert "BEGIN" not in message.msg
    assert "secret-pass" not in message.msg


def test_a_certificate_near_its_expiry_warns_and_an_expired_one_is_an_error(settings, tmp_path):
    soon = client_certificate("soon", days=10)
    key, crt = soon.write(tmp_path / "soon")
    files = {"private_key_path": key, "certificate_path": crt}
    configure(settings, CLIENT_CERTIFICATE=files)
    [warning] = check_settings()
    assert warning.id == "msal_django.W050"
    assert soon.thumbprint in warning.msg
    old = client_certificate("old", days=30, not_before=datetime.now(UTC) - timedelta(days=60))
    key, crt = old.write(tmp_path / "old")
    configure(settings, CLIENT_CERTIFICATE={"private_key_path": key, "certificate_path": crt})
    assert [m.id for m in check_settings()] == ["msal_django.E054"]


def test_assertion_file_and_callable_and_managed_identity_checks(settings, tmp_path, monkeypatch):
    assert _ids(settings, CLIENT_ASSERTION="no.such.module.function") == ["msal_django.E051"]
    assert _ids(settings, CLIENT_ASSERTION="os.sep") == ["msal_django.E051"]
    missing = str(tmp_path / "missing")
    assert _ids(settings, CLIENT_ASSERTION_FILE=missing) == ["msal_django.E052"]
    (tmp_path / "empty").write_text("")
    assert _ids(settings, CLIENT_ASSERTION_FILE=str(tmp_path / "empty")) == ["msal_django.E052"]
    assert _ids(settings, MANAGED_IDENTITY="my-identity") == ["msal_django.E053"]
    two = {"client_id": "a", "object_id": "b"}
    assert _ids(settings, MANAGED_IDENTITY=two) == ["msal_django.E053"]
    assert _ids(settings, MANAGED_IDENTITY={"client_id": "a"}) == []
    assert _ids(settings, MANAGED_IDENTITY=True) == ["msal_django.E053"]  # system-assigned
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", missing)
    assert _ids(settings) == ["msal_django.E052"]


def test_no_credential_material_in_any_repr(settings, tmp_path):
    cert = client_certificate("msal-django-tests credential")
    key, crt = cert.write(tmp_path)
    loaded = credentials.load_certificate({"private_key_path": key, "certificate_path": crt})
    signer = credentials.CertificateAssertion(loaded, CLIENT_ID)
    signer.audience = "https://login.example/token"
    text = " ".join(map(repr, [loaded, signer, signer(), credentials.FileAssertion(key)]))
    body = cert.private_key_pem.splitlines()[1]
    assert body not in text
    assert signer() not in text
    assert loaded.thumbprint == cert.thumbprint


@pytest.mark.django_db(transaction=True)
def test_a_failing_credential_leaves_no_msal_frame_in_the_error(idp, use_credential, settings):
    """MSAL's frames hold the refresh token or the caller's token: the ProviderError the
    credential raises inside them comes out detached (no traceback into MSAL, no
    context), as every other error the package raises above MSAL."""
    use_credential("assertion")
    configure(settings, CLIENT_ASSERTION=f"{__name__}.failing_assertion")
    with pytest.raises(msal_django.ProviderError) as raised:
        msal_django.get_app_token(["https://graph.microsoft.com/.default"])
    error = raised.value
    assert error.__suppress_context__
    assert error.__cause__ is None
    frames = traceback.extract_tb(error.__traceback__)
    assert not [f for f in frames if "/msal/" in f.filename]
    assert "the key vault is unreachable" in str(error)
