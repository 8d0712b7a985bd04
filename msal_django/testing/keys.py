"""The local provider's key material: a CA (trustme), its TLS certificate and a JWT key.

With a ``state_dir`` the CA and the signing key are kept on disk, so a provider that is
restarted keeps the CA people trusted and the ``kid`` clients cached; the TLS
certificate is cheap and is issued afresh by that CA on every start.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import ssl
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any

import jwt
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
SIGNING_KEY_FILE = "signing-key.pem"
CA_ORGANIZATION = "msal-django testing"

# Names every loopback client may use; the configured host is added to them.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def default_state_dir() -> Path:
    """Where the standalone provider keeps its CA and keys (``~/.cache/msal-django-testing``)."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "msal-django-testing"


class ProviderKeys:
    """The CA, the signing key and the helpers that use them."""

    def __init__(self, state_dir: str | os.PathLike[str] | None = None) -> None:
        if state_dir is None:
            # Removed when this object is collected (or at exit), not at stop(): sessions
            # may still verify with the CA file, and the provider may be started again.
            # (A TemporaryDirectory would warn, ResourceWarning, when cleaned up so.)
            directory = Path(tempfile.mkdtemp(prefix="msal-django-testing-"))
            weakref.finalize(self, shutil.rmtree, directory, ignore_errors=True)
            self.ca = _new_ca()
            self.signing_key = _new_signing_key()
            directory.joinpath(CA_FILE).write_bytes(self.ca.cert_pem.bytes())
        else:
            directory = Path(state_dir).expanduser()
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.ca = _load_or_create_ca(directory)
            self.signing_key = _load_or_create_signing_key(directory / SIGNING_KEY_FILE)
        self.directory = directory
        self.ca_file = str(directory / CA_FILE)
        self.public_key = self.signing_key.public_key()
        self.kid = key_id(self.public_key)
        self._lock = threading.Lock()
        self._workload_key: rsa.RSAPrivateKey | None = None

    @property
    def workload_key(self) -> rsa.RSAPrivateKey:
        """The simulated Kubernetes issuer's signing key (``testing.workload``): made on
        first use, never kept on disk."""
        with self._lock:
            if self._workload_key is None:
                self._workload_key = _new_signing_key()
            return self._workload_key

    def server_ssl_context(self, host: str) -> ssl.SSLContext:
        """A TLS server context presenting a certificate for loopback and ``host``."""
        names = list(dict.fromkeys([*LOOPBACK_NAMES, host]))
        cert = self.ca.issue_cert(*names)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        return context

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.public_key, as_dict=True)
        jwk.update(kid=self.kid, use="sig", alg="RS256")
        return {"keys": [jwk]}

    def sign(self, claims: dict[str, Any], *, typ: str | None = None) -> str:
        headers: dict[str, Any] = {"kid": self.kid}
        if typ is not None:
            headers["typ"] = typ
        return jwt.encode(claims, self.signing_key, algorithm="RS256", headers=headers)

    def verify(self, token: str, *, issuer: str, verify_exp: bool = True) -> dict[str, Any]:
        """Claims of a JWT this provider signed; raises ``jwt.InvalidTokenError`` otherwise."""
        claims: dict[str, Any] = jwt.decode(
            token,
            self.public_key,
            algorithms=["RS256"],
            issuer=issuer,
            options={"verify_aud": False, "verify_exp": verify_exp, "require": ["iss", "exp"]},
        )
        return claims


def _new_ca() -> trustme.CA:
    return trustme.CA(organization_name=CA_ORGANIZATION, organization_unit_name="Local CA")


def _new_signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def _load_or_create_ca(directory: Path) -> trustme.CA:
    cert_path, key_path = directory / CA_FILE, directory / CA_KEY_FILE
    if cert_path.exists() and key_path.exists():
        return trustme.CA.from_pem(cert_path.read_bytes(), key_path.read_bytes())
    ca = _new_ca()
    _write_private(key_path, ca.private_key_pem.bytes())
    cert_path.write_bytes(ca.cert_pem.bytes())
    return ca


def _load_or_create_signing_key(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(key, rsa.RSAPrivateKey):
            return key
    key = _new_signing_key()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_private(path, pem)
    return key


def key_id(public_key: rsa.RSAPublicKey) -> str:
    """A stable ``kid``: the SHA-256 of the public key, base64url, like a thumbprint."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode("ascii").rstrip("=")
