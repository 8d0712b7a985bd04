"""The app's own credential: how it proves itself at the provider's token endpoint.

Exactly one of ``CLIENT_SECRET``, ``CLIENT_CREDENTIAL`` (MSAL's dict),
``CLIENT_CERTIFICATE``, ``CLIENT_ASSERTION``, ``CLIENT_ASSERTION_FILE`` and
``MANAGED_IDENTITY`` is set; with none, ``AZURE_FEDERATED_TOKEN_FILE`` (Kubernetes
workload identity) is the assertion file. ``msal_credential`` gives MSAL a secret, or a
``{"client_assertion": callable}`` that MSAL calls only for a request that reaches the
provider: a cache hit costs no signature, file read or managed-identity call.

Nothing here keeps credential material where a ``repr`` (Django's error pages, error
reports) or a log record would show it.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
import uuid
from base64 import b64encode, urlsafe_b64encode
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from django.utils.module_loading import import_string
from django.views.decorators.debug import sensitive_variables

from msal_django.conf import configured, msal_settings, resets_on_change
from msal_django.exceptions import ProviderError
from msal_django.redact import Secret, describe

# Every key that names the app's credential, in the order the docs list them.
CREDENTIAL_KEYS = (
    "CLIENT_SECRET",
    "CLIENT_CREDENTIAL",
    "CLIENT_CERTIFICATE",
    "CLIENT_ASSERTION",
    "CLIENT_ASSERTION_FILE",
    "MANAGED_IDENTITY",
)
FEDERATED_TOKEN_FILE_ENV = "AZURE_FEDERATED_TOKEN_FILE"
# What a credential key set to means "not this one".
UNSET: tuple[object, ...] = (None, "", {}, False)
# The audience of a managed identity's token used as a federated credential, in the
# public cloud (learn.microsoft.com/entra/workload-id/
# workload-identity-federation-config-app-trust-managed-identity).
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"

# A certificate's assertion is signed for ASSERTION_LIFETIME seconds and reused until
# REUSE_MARGIN seconds are left (as MSAL does): one signature per ~9 minutes per process.
ASSERTION_LIFETIME = 600
REUSE_MARGIN = 60
# A managed identity's token (24 hours on Azure) is reused until this many seconds are left.
MANAGED_IDENTITY_MARGIN = 300


class CredentialError(ValueError):
    """A credential setting names something unusable; the message says what, never the
    material itself."""


def configured_keys() -> list[str]:
    """The credential keys that are set (not None, not empty)."""
    return [key for key in CREDENTIAL_KEYS if configured(key, None) not in UNSET]


def assertion_file_path() -> str | None:
    """``CLIENT_ASSERTION_FILE``, else ``AZURE_FEDERATED_TOKEN_FILE`` when no other
    credential is set."""
    path = configured("CLIENT_ASSERTION_FILE", None)
    if path:
        return str(path)
    if configured_keys():
        return None
    return os.environ.get(FEDERATED_TOKEN_FILE_ENV) or None


# -- certificates ----------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Certificate:
    """A loaded ``CLIENT_CERTIFICATE``: its key (never shown), certificate and chain."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    send_chain: bool

    def __repr__(self) -> str:
        return f"<Certificate {self.thumbprint} (private key hidden)>"

    @property
    def thumbprint(self) -> str:
        """The SHA-1 thumbprint, as Entra ID's portal shows it."""
        return self.certificate.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303

    @property
    def expires(self) -> float:
        return self.certificate.not_valid_after_utc.timestamp()


@sensitive_variables()  # the passphrase and the key's PEM
def load_certificate(config: Any) -> Certificate:
    """``CLIENT_CERTIFICATE`` read and parsed: PEM key + certificate, or a PFX file."""
    if not isinstance(config, dict):
        raise CredentialError("must be a dict")
    passphrase = config.get("passphrase")
    if passphrase is not None and not isinstance(passphrase, (str, bytes)):
        raise CredentialError('"passphrase" must be a string')
    secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
    send_chain = bool(config.get("send_certificate_chain", False))
    if config.get("pfx_path"):
        unknown = set(config) - {"pfx_path", "passphrase", "send_certificate_chain"}
        if unknown:
            raise CredentialError(f"has keys a PFX does not take: {', '.join(sorted(unknown))}")
        data = _read(config["pfx_path"], "pfx_path")
        try:
            key, certificate, extra = pkcs12.load_key_and_certificates(data, secret)
        except (ValueError, TypeError):
            raise CredentialError(
                '"pfx_path" is not a PKCS#12 (PFX) file, or "passphrase" is wrong'
            ) from None
        if certificate is None or key is None:
            raise CredentialError('"pfx_path" holds no private key and certificate')
        chain = tuple(extra or ())
    elif config.get("private_key_path") and config.get("certificate_path"):
        unknown = set(config) - {
            "private_key_path",
            "certificate_path",
            "passphrase",
            "send_certificate_chain",
        }
        if unknown:
            raise CredentialError(f"has unknown keys: {', '.join(sorted(unknown))}")
        key_data = _read(config["private_key_path"], "private_key_path")
        try:
            key = serialization.load_pem_private_key(key_data, secret)
        except (ValueError, TypeError):
            raise CredentialError(
                '"private_key_path" is not a PEM private key, or "passphrase" is wrong '
                "(or missing for an encrypted key)"
            ) from None
        try:
            certificates = x509.load_pem_x509_certificates(
                _read(config["certificate_path"], "certificate_path")
            )
        except ValueError:
            raise CredentialError('"certificate_path" is not a PEM certificate') from None
        certificate, chain = certificates[0], tuple(certificates[1:])
    else:
        raise CredentialError(
            'needs "private_key_path" and "certificate_path" (PEM), or "pfx_path"'
        )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialError("the private key must be RSA (Entra ID signs with RS256/PS256)")
    if key.public_key().public_numbers() != _rsa_public(certificate):
        raise CredentialError("the private key does not belong to the certificate")
    return Certificate(key, certificate, chain, send_chain)


def _rsa_public(certificate: x509.Certificate) -> Any:
    public = certificate.public_key()
    return public.public_numbers() if isinstance(public, rsa.RSAPublicKey) else None


def _read(path: Any, name: str) -> bytes:
    try:
        return Path(str(path)).read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise CredentialError(f'"{name}" cannot be read ({reason})') from None


def _b64(data: bytes) -> str:
    return urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class CertificateAssertion:
    """Signs RFC 7523 client assertions with the certificate's key (PS256, ``x5t#S256``;
    ``x5c`` with the chain for subject name + issuer authentication), each reused until
    ``REUSE_MARGIN`` seconds before it expires. ``audience`` is the token endpoint, set
    once MSAL has read the provider's configuration."""

    def __init__(self, certificate: Certificate, client_id: str) -> None:
        self._certificate, self._client_id = certificate, client_id
        self.audience: str | None = None
        self._lock = threading.Lock()
        self._assertion: tuple[Secret, float] | None = None

    def __repr__(self) -> str:
        return f"<CertificateAssertion {self._certificate.thumbprint}>"

    def __call__(self) -> str:
        now = time.time()
        with self._lock:
            if self._assertion is None or self._assertion[1] - REUSE_MARGIN <= now:
                self._assertion = (Secret(self._sign(now)), now + ASSERTION_LIFETIME)
            return self._assertion[0]

    def _sign(self, now: float) -> str:
        certificate = self._certificate
        der = certificate.certificate.public_bytes(serialization.Encoding.DER)
        headers: dict[str, Any] = {"x5t#S256": _b64(hashlib.sha256(der).digest())}
        if certificate.send_chain:
            # RFC 7515 4.1.6: standard base64 (not base64url) of each DER certificate.
            headers["x5c"] = [
                b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii")
                for c in (certificate.certificate, *certificate.chain)
            ]
        claims = {
            "aud": self.audience,
            "iss": self._client_id,
            "sub": self._client_id,
            "jti": str(uuid.uuid4()),
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now) + ASSERTION_LIFETIME,
        }
        return jwt.encode(claims, certificate.key, algorithm="PS256", headers=headers)


# -- assertions from code, a file, a managed identity ----------------------------------


def _unavailable(what: str, exc: BaseException | None = None) -> ProviderError:
    detail = f": {describe(exc)}" if exc is not None else ""
    return ProviderError(f"The app's credential is unavailable ({what}){detail}", transient=True)


class CallableAssertion:
    """``CLIENT_ASSERTION``: the user's callable, its failures a transient ProviderError."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._function: Callable[[], Any] = import_string(path)

    def __repr__(self) -> str:
        return f"<CallableAssertion {self.path}>"

    def __call__(self) -> str:
        try:
            value = self._function()
        except Exception as exc:
            raise _unavailable(f"CLIENT_ASSERTION {self.path} raised", exc) from None
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        if not isinstance(value, str) or not value.strip():
            raise _unavailable(f"CLIENT_ASSERTION {self.path} returned no assertion")
        return Secret(value.strip())


class FileAssertion:
    """``CLIENT_ASSERTION_FILE``: the file's token, read again only when the file changed
    (Kubernetes swaps a symlink: the inode changes; an editor rewrites: mtime and size).
    One ``stat`` per provider call, no read."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[tuple[int, ...], Secret] | None = None

    def __repr__(self) -> str:
        return f"<FileAssertion {self.path}>"

    def __call__(self) -> str:
        try:
            stat = os.stat(self.path)
        except OSError as exc:
            raise _unavailable(f"CLIENT_ASSERTION_FILE {self.path}", exc) from None
        signature = (stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if self._seen is None or self._seen[0] != signature:
                try:
                    text = Path(self.path).read_text(encoding="ascii").strip()
                except (OSError, UnicodeDecodeError) as exc:
                    raise _unavailable(f"CLIENT_ASSERTION_FILE {self.path}", exc) from None
                if not text:
                    raise _unavailable(f"CLIENT_ASSERTION_FILE {self.path} is empty")
                self._seen = (signature, Secret(text))
            return self._seen[1]


MANAGED_IDENTITY_KEYS = ("client_id", "object_id", "resource_id")


def managed_identity(config: Any) -> Any:
    """MSAL's description of ``MANAGED_IDENTITY``: a user-assigned identity by one of
    ``client_id``, ``object_id`` or ``resource_id``. Microsoft documents only user-assigned
    identities as an app's federated credential (learn.microsoft.com/entra/workload-id/
    workload-identity-federation-config-app-trust-managed-identity)."""
    import msal

    if not isinstance(config, dict):
        raise CredentialError(
            'must be a dict naming a user-assigned identity, such as {"client_id": '
            '"<identity client id>"} (Entra ID trusts only user-assigned identities here)'
        )
    unknown = set(config) - {*MANAGED_IDENTITY_KEYS, "audience"}
    given = [k for k in MANAGED_IDENTITY_KEYS if config.get(k)]
    if unknown or len(given) != 1:
        raise CredentialError(
            f'takes exactly one of {", ".join(MANAGED_IDENTITY_KEYS)} (and an optional "audience")'
        )
    key = given[0]
    value = config[key]
    if not isinstance(value, str):
        raise CredentialError(f'"{key}" must be a string')
    return msal.UserAssignedManagedIdentity(**{key: value})


class _SessionWithTimeout(requests.Session):
    """MSAL's managed-identity requests pass no timeout: an endpoint that does not answer
    (off Azure, a blackholed IMDS) would hold every thread that needs an assertion."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


class ManagedIdentityAssertion:
    """``MANAGED_IDENTITY``: the identity's token for ``api://AzureADTokenExchange``
    (a federated identity credential of the app), fetched through MSAL's
    ``ManagedIdentityClient`` and kept until ``MANAGED_IDENTITY_MARGIN`` seconds before
    it expires."""

    def __init__(self, config: Any, http_client: Any) -> None:
        import msal

        self._config = config
        self.audience = str(
            (config.get("audience") if isinstance(config, dict) else None)
            or TOKEN_EXCHANGE_AUDIENCE
        )
        if http_client is None:  # no HTTP_CLIENT: MSAL's MI client needs a session
            http_client = _SessionWithTimeout(float(msal_settings.TIMEOUT))
        self._client = msal.ManagedIdentityClient(
            managed_identity(config), http_client=http_client, token_cache=msal.TokenCache()
        )
        self._lock = threading.Lock()
        self._token: tuple[Secret, float] | None = None

    def __repr__(self) -> str:
        return f"<ManagedIdentityAssertion {self._config!r}>"

    def __call__(self) -> str:
        with self._lock:
            now = time.time()
            if self._token is None or self._token[1] - MANAGED_IDENTITY_MARGIN <= now:
                try:
                    result = self._client.acquire_token_for_client(resource=self.audience)
                except Exception as exc:  # MSAL raises for an absent or broken endpoint
                    raise _unavailable("the managed identity endpoint", exc) from None
                if "access_token" not in result:
                    error = str(result.get("error") or "no token")
                    raise _unavailable(f"the managed identity endpoint answered {error}")
                lifetime = float(result.get("expires_in") or 3600)
                self._token = (Secret(result["access_token"]), now + lifetime)
            return self._token[0]


# -- what MSAL is given ----------------------------------------------------------------

_built: dict[str, Any] = {}
_build_lock = threading.Lock()


@resets_on_change()
def reset() -> None:
    """Forget the built credential (settings changed): files and identities are read anew."""
    with _build_lock:
        _built.clear()


def msal_credential(http_client: Any) -> Any:
    """What ``ConfidentialClientApplication`` takes as ``client_credential``: the secret
    (or ``CLIENT_CREDENTIAL``), else ``{"client_assertion": <callable>}``; built once per
    settings change and shared by every thread's application."""
    with _build_lock:
        if "credential" not in _built:
            _built["credential"] = _build(http_client)
        return _built["credential"]


def _build(http_client: Any) -> Any:
    if configured("CLIENT_SECRET", None) or configured("CLIENT_CREDENTIAL", None):
        return msal_settings.CLIENT_CREDENTIAL
    assertion: Callable[[], str]
    try:
        if configured("CLIENT_CERTIFICATE", None):
            assertion = CertificateAssertion(
                load_certificate(configured("CLIENT_CERTIFICATE")), msal_settings.CLIENT_ID
            )
        elif configured("CLIENT_ASSERTION", None):
            assertion = CallableAssertion(str(configured("CLIENT_ASSERTION")))
        elif configured("MANAGED_IDENTITY", None):
            assertion = ManagedIdentityAssertion(configured("MANAGED_IDENTITY"), http_client)
        elif path := assertion_file_path():
            assertion = FileAssertion(path)
        else:
            return None
    except (CredentialError, ImportError) as exc:
        # The system checks report this at start-up; here it must not be a traceback.
        raise _unavailable("see manage.py check", exc) from None
    return {"client_assertion": assertion}


def refused(result: dict[str, Any]) -> ProviderError | None:
    """The provider's refusal of the app's own credential (``invalid_client``: a wrong or
    expired certificate, a federated token no credential matches), or None. The site's
    configuration, not the user, is at fault; the message names Entra ID's AADSTS code,
    which says which (the description holds no credential)."""
    error = str(result.get("error") or "")
    if error not in ("invalid_client", "unauthorized_client"):
        return None
    codes = sorted(set(re.findall(r"AADSTS\d+", str(result.get("error_description") or ""))))
    detail = f" {', '.join(codes)}" if codes else ""
    return ProviderError(
        f"The identity provider refused the app's credential ({error}{detail}): check "
        "CLIENT_CERTIFICATE, CLIENT_ASSERTION, CLIENT_ASSERTION_FILE or MANAGED_IDENTITY "
        "against the app registration.",
        error=error,
        transient=False,
    )


def bind_audience(credential: Any, token_endpoint: str) -> None:
    """A certificate's assertions are for the token endpoint MSAL found in discovery."""
    if isinstance(credential, dict):
        assertion = credential.get("client_assertion")
        if isinstance(assertion, CertificateAssertion) and assertion.audience is None:
            assertion.audience = token_endpoint
