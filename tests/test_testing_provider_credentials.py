"""The local provider authenticates clients without secrets as Entra ID does: certificates
(client assertions naming them by thumbprint), federated identity credentials (Kubernetes
workload identity tokens, managed identity tokens), and App Service's managed identity
endpoint. Driven over HTTPS with real MSAL where MSAL has the flow."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import jwt
import msal
import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from msal_django.testing import IdentityProvider, client_certificate

CLIENT = "msal-django-tests-secretless"
REDIRECT = "http://127.0.0.1/callback"
RESOURCE = "api://msal-django-tests-resource"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
EXCHANGE = "api://AzureADTokenExchange"
SERVICE_ACCOUNT = "system:serviceaccount:shop:web"

# The provider takes the query response mode these tests use; MSAL recommends form_post.
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")


@pytest.fixture
def client(idp: IdentityProvider):
    """An app registered without a secret."""
    return idp.register_client(CLIENT, redirect_uris=[REDIRECT])


@pytest.fixture(scope="module")
def cert():
    return client_certificate("secretless-tests")


def application(idp, credential):
    return msal.ConfidentialClientApplication(
        CLIENT,
        client_credential=credential,
        authority=idp.authority,
        instance_discovery=False,
        http_client=idp.http_client(),
    )


def certificate_credential(cert):
    return {"private_key": cert.private_key_pem, "public_certificate": cert.certificate_pem}


def app_token(idp, credential):
    return application(idp, credential).acquire_token_for_client([f"{RESOURCE}/.default"])


def assertion(idp, cert, *, alg="PS256", header="x5t#S256", key=None, lifetime=600, **claims):
    """A client assertion as MSAL makes one, with ``claims`` changed (None: left out)."""
    now = time.time()
    payload = {
        "aud": f"{idp.authority}/oauth2/v2.0/token",
        "iss": CLIENT,
        "sub": CLIENT,
        "iat": now,
        "exp": now + lifetime,
        "jti": str(uuid.uuid4()),
    }
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not None}
    thumbprints = {"x5t": cert.thumbprint, "x5t#S256": cert.thumbprint_sha256}
    value = jwt.utils.base64url_encode(bytes.fromhex(thumbprints[header])).decode()
    return jwt.encode(payload, key or cert.private_key, algorithm=alg, headers={header: value})


def token_request(idp, client_assertion=None, **form):
    """A client credentials request, with ``client_assertion`` if given: the response."""
    data = {"client_id": CLIENT, "grant_type": "client_credentials"}
    data["scope"] = f"{RESOURCE}/.default"
    if client_assertion is not None:
        data.update(client_assertion_type=JWT_BEARER, client_assertion=client_assertion)
    data.update(form)
    return idp.http_client().post(f"{idp.authority}/oauth2/v2.0/token", data=data)


def refused(response, code, error="invalid_client", status=401):
    body = response.json()
    assert (response.status_code, body["error"]) == (status, error), body
    assert body["error_description"].startswith(code), body
    return body["error_description"]


# -- secrets -----------------------------------------------------------------------


def test_an_app_registered_without_a_secret_is_refused_one(idp, client):
    assert client.client_secret is None
    description = refused(token_request(idp, client_secret="guess"), "AADSTS7000215")
    assert CLIENT in description


def test_an_app_with_a_secret_still_takes_it_positionally(idp):
    idp.register_client(CLIENT, "a-secret", redirect_uris=[REDIRECT])
    assert "access_token" in app_token(idp, "a-secret")


def test_a_request_with_no_credential_is_refused(idp, client):
    refused(token_request(idp), "AADSTS7000218")


def test_a_secret_and_an_assertion_together_are_refused(idp, cert):
    idp.register_client(CLIENT, "a-secret")
    idp.add_client_certificate(CLIENT, cert.certificate)
    response = token_request(idp, assertion(idp, cert), client_secret="a-secret")
    refused(response, "AADSTS9002313", "invalid_request", 400)


# -- certificates ------------------------------------------------------------------


def test_msal_authenticates_with_a_certificate_sha256_and_ps256(idp, client, cert):
    idp.add_client_certificate(CLIENT, cert.certificate_pem)
    result = app_token(idp, certificate_credential(cert))
    assert (
        jwt.decode(result["access_token"], options={"verify_signature": False})["aud"] == RESOURCE
    )


def test_msal_authenticates_with_a_sha1_thumbprint_and_rs256(idp, client, cert):
    idp.add_client_certificate(CLIENT, cert.certificate)
    credential = {"private_key": cert.private_key_pem, "thumbprint": cert.thumbprint}
    assert "access_token" in app_token(idp, credential)


def test_msal_authenticates_with_a_pfx_file(idp, client, cert, tmp_path):
    idp.add_client_certificate(CLIENT, cert)
    path = tmp_path / "client.pfx"
    path.write_bytes(cert.pfx("pass phrase"))
    credential = {"private_key_pfx_path": str(path), "passphrase": "pass phrase"}
    assert "access_token" in app_token(idp, credential)


def test_certificates_rotate_two_registered_then_the_old_one_removed(idp, client, cert):
    new = client_certificate("secretless-tests-next", new_key=True)
    idp.add_client_certificate(CLIENT, cert)
    idp.add_client_certificate(CLIENT, new.certificate_pem.encode())
    assert "access_token" in app_token(idp, certificate_credential(cert))
    assert "access_token" in app_token(idp, certificate_credential(new))
    idp.remove_client_certificate(CLIENT, cert)
    assert "access_token" in app_token(idp, certificate_credential(new))
    description = refused(token_request(idp, assertion(idp, cert)), "AADSTS700027")
    assert "The key was not found" in description
    assert cert.thumbprint_sha256 in description


def test_an_expired_or_not_yet_valid_certificate_is_refused(idp, client):
    expired = client_certificate(
        "secretless-tests", days=1, not_before=datetime.now(UTC) - timedelta(days=2)
    )
    future = client_certificate(
        "secretless-tests", not_before=datetime.now(UTC) + timedelta(days=1)
    )
    for certificate, reason in ((expired, "expired"), (future, "not yet valid")):
        idp.add_client_certificate(CLIENT, certificate)
        description = refused(token_request(idp, assertion(idp, certificate)), "AADSTS700027")
        assert reason in description


def test_a_forged_signature_is_refused(idp, client, cert):
    idp.add_client_certificate(CLIENT, cert)
    other = client_certificate("someone-else", new_key=True)
    forged = assertion(idp, cert, key=other.private_key)
    assert "signature validation" in refused(token_request(idp, forged), "AADSTS700027")


@pytest.mark.parametrize("claim", ["iss", "sub"])
def test_iss_and_sub_must_be_the_client_id(idp, client, cert, claim):
    idp.add_client_certificate(CLIENT, cert)
    refused(token_request(idp, assertion(idp, cert, **{claim: "another-app"})), "AADSTS700021")


def test_the_audience_is_the_token_endpoint_or_the_issuer(idp, client, cert):
    idp.add_client_certificate(CLIENT, cert)
    for audience in (
        f"{idp.authority}/oauth2/v2.0/token",
        idp.issuer,
        f"{idp.authority}/oauth2/token",
    ):
        assert token_request(idp, assertion(idp, cert, aud=audience)).status_code == 200
    wrong = assertion(idp, cert, aud="https://login.microsoftonline.com/other/oauth2/v2.0/token")
    refused(token_request(idp, wrong), "AADSTS700023")


def test_expired_and_not_yet_valid_assertions_are_refused_beyond_five_minutes(idp, client, cert):
    idp.add_client_certificate(CLIENT, cert)
    now = time.time()
    assert token_request(idp, assertion(idp, cert, exp=now - 200)).status_code == 200
    refused(token_request(idp, assertion(idp, cert, exp=now - 400)), "AADSTS700024")
    description = refused(token_request(idp, assertion(idp, cert, nbf=now + 400)), "AADSTS700024")
    assert "Current time:" in description
    assert "expiry time of assertion" in description


@pytest.mark.parametrize("claim", ["jti", "exp"])
def test_an_assertion_without_jti_or_exp_is_malformed(idp, client, cert, claim):
    idp.add_client_certificate(CLIENT, cert)
    refused(token_request(idp, assertion(idp, cert, **{claim: None})), "AADSTS50027")


def test_other_algorithms_and_a_missing_thumbprint_are_malformed(idp, client, cert):
    idp.add_client_certificate(CLIENT, cert)
    refused(token_request(idp, assertion(idp, cert, alg="RS512")), "AADSTS50027")
    unnamed = jwt.encode({"iss": CLIENT, "sub": CLIENT}, cert.private_key, algorithm="RS256")
    refused(token_request(idp, unnamed), "AADSTS50027")
    refused(token_request(idp, "not-a-jwt"), "AADSTS50027")


def test_reused_assertions_pass_unless_the_provider_refuses_them(idp, client, cert):
    idp.add_client_certificate(CLIENT, cert)
    once = assertion(idp, cert)
    assert [token_request(idp, once).status_code for _ in range(2)] == [200, 200]
    idp.refuse_reused_assertions = True
    assert "used before" in refused(token_request(idp, once), "AADSTS50027")
    assert token_request(idp, assertion(idp, cert)).status_code == 200
    idp.reset()
    assert idp.refuse_reused_assertions is False


def test_msal_with_a_client_assertion_callable(idp, client, cert):
    idp.add_client_certificate(CLIENT, cert)
    calls = []

    def make_assertion():
        calls.append(1)
        return assertion(idp, cert)

    assert "access_token" in app_token(idp, {"client_assertion": make_assertion})
    assert calls


def test_assertions_join_issued_secrets_and_never_the_request_log(idp, client, cert):
    idp.add_client_certificate(CLIENT, cert)
    sent = assertion(idp, cert)
    token_request(idp, sent)
    refused(token_request(idp, "forged." + sent), "AADSTS50027")
    assert {sent, "forged." + sent} <= set(idp.issued_secrets())
    assert sent not in repr(idp.requests)
    assert idp.count("token", grant_type="client_credentials") == 2


# -- every grant, whatever the client authentication ---------------------------------


def credentials(idp, kind, cert):
    """A client credential of ``kind``, registered on the app."""
    if kind == "secret":
        idp.register_client(CLIENT, "a-secret", redirect_uris=[REDIRECT])
        return "a-secret"
    if kind == "certificate":
        idp.add_client_certificate(CLIENT, cert)
        return certificate_credential(cert)
    idp.add_federated_credential(CLIENT, idp.workload_issuer, SERVICE_ACCOUNT)
    return {"client_assertion": lambda: idp.workload_identity_token(SERVICE_ACCOUNT)}


@pytest.mark.parametrize("kind", ["secret", "certificate", "workload"])
def test_every_grant_works_with_every_client_authentication(idp, client, cert, kind):
    app = application(idp, credentials(idp, kind, cert))
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT)
    idp.consent("alice", CLIENT, ["User.Read"])
    redirect = idp.sign_in(flow["auth_uri"], "alice")
    query = dict(part.split("=", 1) for part in redirect.split("?", 1)[1].split("&"))
    signed_in = app.acquire_token_by_auth_code_flow(flow, {k: unquote(v) for k, v in query.items()})
    assert "access_token" in signed_in, signed_in
    account = app.get_accounts()[0]
    refreshed = app.acquire_token_silent_with_error(["User.Read"], account, force_refresh=True)
    assert "access_token" in refreshed, refreshed
    user_token = idp.access_token_for("alice", "a-spa", [f"api://{CLIENT}/access_as_user"])
    obo = app.acquire_token_on_behalf_of(user_token, ["User.Read"])
    assert "access_token" in obo, obo
    assert "access_token" in app.acquire_token_for_client([f"{RESOURCE}/.default"])
    assert idp.count("token") == 4


# -- workload identity (Kubernetes) ---------------------------------------------------


def test_the_workload_issuer_serves_discovery_and_keys_that_verify_its_tokens(idp):
    session = idp.http_client()
    discovery = session.get(f"{idp.workload_issuer}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == idp.workload_issuer
    jwks = jwt.PyJWKSet.from_dict(session.get(discovery["jwks_uri"]).json())
    token = idp.workload_identity_token(SERVICE_ACCOUNT)
    kid = jwt.get_unverified_header(token)["kid"]
    claims = jwt.decode(token, jwks[kid].key, algorithms=["RS256"], audience=EXCHANGE)
    assert (claims["iss"], claims["sub"]) == (idp.workload_issuer, SERVICE_ACCOUNT)
    assert claims["kubernetes.io"]["serviceaccount"]["name"] == "web"
    assert token in idp.issued_secrets()


def test_a_workload_token_matching_no_federated_credential_is_refused(idp, client):
    idp.add_federated_credential(CLIENT, idp.workload_issuer, SERVICE_ACCOUNT)
    other = idp.workload_identity_token("system:serviceaccount:shop:batch")
    description = refused(token_request(idp, other), "AADSTS70021")
    assert f"Assertion Issuer: '{idp.workload_issuer}'" in description
    assert "Assertion Subject: 'system:serviceaccount:shop:batch'" in description
    assert f"Assertion Audience: '{EXCHANGE}'" in description
    elsewhere = idp.workload_identity_token(SERVICE_ACCOUNT, audience="api://elsewhere")
    refused(token_request(idp, elsewhere), "AADSTS70021")
    idp.register_client(CLIENT)  # a fresh registration has no federated credentials
    refused(token_request(idp, idp.workload_identity_token(SERVICE_ACCOUNT)), "AADSTS700211")


def test_an_expired_or_future_workload_token_is_refused(idp, client):
    idp.add_federated_credential(CLIENT, idp.workload_issuer, SERVICE_ACCOUNT)
    expired = idp.workload_identity_token(SERVICE_ACCOUNT, issued_at=time.time() - 4000)
    refused(token_request(idp, expired), "AADSTS700024")
    future = idp.workload_identity_token(SERVICE_ACCOUNT, issued_at=time.time() + 600)
    refused(token_request(idp, future), "AADSTS700024")


def test_a_workload_token_not_signed_by_its_issuer_is_refused(idp, client):
    idp.add_federated_credential(CLIENT, idp.workload_issuer, SERVICE_ACCOUNT)
    now = int(time.time())
    forged = idp.sign_jwt(
        {"iss": idp.workload_issuer, "sub": SERVICE_ACCOUNT, "aud": [EXCHANGE], "exp": now + 600}
    )
    refused(token_request(idp, forged), "AADSTS700027")
    idp.add_federated_credential(CLIENT, "https://token.actions.githubusercontent.com", "repo:x")
    github = jwt.encode(
        {"iss": "https://token.actions.githubusercontent.com", "sub": "repo:x", "aud": EXCHANGE},
        client_certificate("secretless-tests").private_key,
        algorithm="RS256",
    )
    assert "cannot be fetched" in refused(token_request(idp, github), "AADSTS700027")


# -- managed identity (App Service) ----------------------------------------------------


@pytest.fixture
def app_service(idp, monkeypatch):
    """The environment App Service gives an app with a managed identity."""
    monkeypatch.delenv("IDENTITY_SERVER_THUMBPRINT", raising=False)
    for name, value in idp.managed_identity_environment().items():
        monkeypatch.setenv(name, value)


def managed_identity_client(idp, identity):
    return msal.ManagedIdentityClient(identity, http_client=idp.http_client())


def test_msal_gets_a_user_assigned_identity_token_once(idp, app_service):
    identity = idp.add_managed_identity()
    mi = managed_identity_client(
        idp, msal.UserAssignedManagedIdentity(client_id=identity.client_id)
    )
    result = mi.acquire_token_for_client(resource=EXCHANGE)
    assert "access_token" in result, result
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["aud"] == EXCHANGE
    assert claims["iss"] == idp.issuer
    assert claims["sub"] == claims["oid"] == identity.object_id
    assert 3500 < result["expires_in"] <= 3600
    assert result["access_token"] in idp.issued_secrets()
    mi.acquire_token_for_client(resource=EXCHANGE)  # MSAL's cache answers
    assert idp.count("managed_identity") == 1


@pytest.mark.parametrize("by", ["object_id", "resource_id", "system_assigned"])
def test_an_identity_named_by_object_or_resource_id_or_the_system_assigned_one(
    idp, app_service, by
):
    identity = idp.add_managed_identity(system_assigned=by == "system_assigned")
    wanted = {
        "object_id": msal.UserAssignedManagedIdentity(object_id=identity.object_id),
        "resource_id": msal.UserAssignedManagedIdentity(resource_id=identity.resource_id),
        "system_assigned": msal.SystemAssignedManagedIdentity(),
    }[by]
    result = managed_identity_client(idp, wanted).acquire_token_for_client(resource=RESOURCE)
    assert (
        jwt.decode(result["access_token"], options={"verify_signature": False})["oid"]
        == identity.object_id
    )


def test_an_unknown_identity_gets_app_services_400(idp, app_service):
    mi = managed_identity_client(idp, msal.UserAssignedManagedIdentity(client_id=str(uuid.uuid4())))
    result = mi.acquire_token_for_client(resource=EXCHANGE)
    assert result["error_description"] == "400, Unable to load the proper Managed Identity."


def test_the_identity_header_is_required(idp):
    identity = idp.add_managed_identity()
    environment = idp.managed_identity_environment()
    params = {"api-version": "2019-08-01", "resource": EXCHANGE, "client_id": identity.client_id}
    session = idp.http_client()
    missing = session.get(environment["IDENTITY_ENDPOINT"], params=params)
    wrong = session.get(
        environment["IDENTITY_ENDPOINT"], params=params, headers={"X-IDENTITY-HEADER": "x"}
    )
    assert (missing.status_code, wrong.status_code) == (400, 401)
    assert wrong.json()["statusCode"] == 401
    assert "access_token" not in wrong.json()
    right = {"X-IDENTITY-HEADER": environment["IDENTITY_HEADER"]}
    assert session.get(environment["IDENTITY_ENDPOINT"], params=params, headers=right).ok


def test_a_managed_identity_token_is_the_apps_federated_client_assertion(idp, client, app_service):
    identity = idp.add_managed_identity()
    idp.add_federated_credential(CLIENT, idp.issuer, identity.object_id)
    mi = managed_identity_client(
        idp, msal.UserAssignedManagedIdentity(client_id=identity.client_id)
    )

    def client_assertion():
        return mi.acquire_token_for_client(resource=EXCHANGE)["access_token"]

    result = app_token(idp, {"client_assertion": client_assertion})
    assert "access_token" in result, result
    # The identity's token for another resource is no client assertion.
    other = mi.acquire_token_for_client(resource=RESOURCE)["access_token"]
    refused(token_request(idp, other), "AADSTS70021")


# -- the certificate helper -------------------------------------------------------------


def test_client_certificate_writes_pem_files_and_a_pfx(tmp_path):
    cert = client_certificate("helper-test", days=2)
    key_path, cert_path = cert.write(tmp_path)
    assert (key_path.name, cert_path.name) == ("key.pem", "cert.pem")
    assert key_path.stat().st_mode & 0o777 == 0o600
    assert "PRIVATE KEY" in key_path.read_text()
    assert cert_path.read_text() == cert.certificate_pem
    key, certificate, _ = pkcs12.load_key_and_certificates(cert.pfx("pw"), b"pw")
    assert certificate == cert.certificate
    assert key is not None
    assert (
        cert.certificate.not_valid_after_utc - cert.certificate.not_valid_before_utc
        == timedelta(days=2)
    )
    assert "PRIVATE" not in repr(cert)
    assert "private_key=" not in repr(cert)
