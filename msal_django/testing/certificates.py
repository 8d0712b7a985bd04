"""Client certificates for tests and the example: a self-signed RSA certificate and its
key, as an app registration's *Certificates & secrets* page takes it, and the thumbprints
a client assertion's header names it by (``x5t``: SHA-1, ``x5t#S256``: SHA-256).

    cert = client_certificate(common_name="my-app", days=30)
    idp.add_client_certificate("my-app", cert.certificate)
    key_path, cert_path = cert.write(tmp_path)

Generating an RSA key takes a while, so the key of each common name is made once per
process: the certificates of one name share it, as a renewed certificate may
(``new_key=True`` gives a fresh one, for a certificate whose key the app lacks).
"""

from __future__ import annotations

import base64
import functools
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

KEY_FILE = "key.pem"
CERTIFICATE_FILE = "cert.pem"


@dataclass(frozen=True)
class ClientCertificate:
    """A certificate and its private key (never shown in ``repr``)."""

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey = field(repr=False)

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def private_key_pem(self) -> str:
        """The key, PKCS#8 PEM, unencrypted (what MSAL's ``private_key`` takes)."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    @property
    def thumbprint(self) -> str:
        """The SHA-1 thumbprint in hex, as the Azure portal shows it."""
        return self.certificate.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303

    @property
    def thumbprint_sha256(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex().upper()

    def write(self, directory: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write ``key.pem`` (mode 0600) and ``cert.pem`` into ``directory``; return
        their paths (key, certificate)."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        key_path, cert_path = folder / KEY_FILE, folder / CERTIFICATE_FILE
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(self.private_key_pem)
        cert_path.write_text(self.certificate_pem)
        return key_path, cert_path

    def pfx(self, passphrase: str | bytes | None = None) -> bytes:
        """The key and certificate as PKCS#12 (``.pfx``), encrypted with ``passphrase``."""
        password = passphrase.encode() if isinstance(passphrase, str) else passphrase
        encryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return pkcs12.serialize_key_and_certificates(
            b"client-certificate", self.private_key, self.certificate, None, encryption
        )


def client_certificate(
    common_name: str = "msal-django-testing client",
    *,
    days: float = 365,
    not_before: datetime | None = None,
    new_key: bool = False,
) -> ClientCertificate:
    """A self-signed RSA 2048 certificate valid from ``not_before`` (default: an hour
    ago) for ``days`` days: a past ``not_before`` and few days make an expired one."""
    key = rsa.generate_private_key(65537, 2048) if new_key else _key(common_name)
    start = not_before or datetime.now(UTC) - timedelta(hours=1)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return ClientCertificate(certificate, key)


@functools.cache
def _key(common_name: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


def load_certificate(value: x509.Certificate | ClientCertificate | str | bytes) -> x509.Certificate:
    """A certificate from itself, a :class:`ClientCertificate` or PEM text."""
    if isinstance(value, ClientCertificate):
        return value.certificate
    if isinstance(value, x509.Certificate):
        return value
    data = value.encode("ascii") if isinstance(value, str) else value
    return x509.load_pem_x509_certificate(data)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def header_thumbprints(certificate: x509.Certificate) -> dict[str, str]:
    """What a client assertion's header names ``certificate`` by (RFC 7515 4.1.7, 4.1.8)."""
    return {
        "x5t": b64url(certificate.fingerprint(hashes.SHA1())),  # noqa: S303
        "x5t#S256": b64url(certificate.fingerprint(hashes.SHA256())),
    }
