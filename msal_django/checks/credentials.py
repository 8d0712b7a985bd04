"""Checks of the app's credential: exactly one, and each usable before the first request."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

from django.core.checks import CheckMessage, Error, Warning

from msal_django.checks.common import check_callable
from msal_django.credentials import (
    CREDENTIAL_KEYS,
    FEDERATED_TOKEN_FILE_ENV,
    UNSET,
    CredentialError,
    load_certificate,
    managed_identity,
)

EXPIRY_WARNING_DAYS = 30
_DOCS = "see the Credentials page of the documentation"


def check_credentials(config: dict[str, Any]) -> list[CheckMessage]:
    given = [key for key in CREDENTIAL_KEYS if config[key] not in UNSET]
    if len(given) > 1:
        return [
            Error(
                f"MSAL_DJANGO sets {len(given)} credentials ({', '.join(given)}); set exactly one.",
                hint=f"Keep the one the app registration trusts; {_DOCS}.",
                id="msal_django.E023",
            )
        ]
    if not given:
        path = os.environ.get(FEDERATED_TOKEN_FILE_ENV)
        if path:
            return _check_file(path, f"${FEDERATED_TOKEN_FILE_ENV}")
        return [
            Error(
                "MSAL_DJANGO sets no credential for the app.",
                hint="Set one of " + ", ".join(CREDENTIAL_KEYS) + f"; {_DOCS}.",
                id="msal_django.E003",
            )
        ]
    key = given[0]
    value = config[key]
    if key == "CLIENT_SECRET":
        return [] if isinstance(value, str) else [_wrong_type(key, "a string")]
    if key == "CLIENT_CREDENTIAL":
        if isinstance(value, str):
            return [
                Warning(
                    'MSAL_DJANGO["CLIENT_CREDENTIAL"] is a client secret: Django\'s error pages '
                    "and ADMINS e-mails show settings whose names do not look secret, this "
                    "one included.",
                    hint='Name it MSAL_DJANGO["CLIENT_SECRET"]: Django hides that name.',
                    id="msal_django.W003",
                )
            ]
        return [] if isinstance(value, dict) else [_wrong_type(key, "MSAL's credential dict")]
    if key == "CLIENT_CERTIFICATE":
        return _check_certificate(value)
    if key == "CLIENT_ASSERTION":
        hint = "A function of no arguments that returns the signed assertion (a JWT)."
        return check_callable(config, key, hint, "msal_django.E051")[1]
    if key == "CLIENT_ASSERTION_FILE":
        return _check_file(value, 'MSAL_DJANGO["CLIENT_ASSERTION_FILE"]')
    return _check_managed_identity(value)


def _wrong_type(key: str, wanted: str) -> Error:
    return Error(
        f'MSAL_DJANGO["{key}"] must be {wanted}.',
        hint=f"Read it from the environment or a file; {_DOCS}.",
        id="msal_django.E003",
    )


def _check_certificate(value: Any) -> list[CheckMessage]:
    try:
        certificate = load_certificate(value)
    except CredentialError as exc:
        return [
            Error(
                f'MSAL_DJANGO["CLIENT_CERTIFICATE"] {exc}.',
                hint='{"private_key_path": ..., "certificate_path": ...} (PEM) or '
                '{"pfx_path": ..., "passphrase": ...}: the certificate uploaded to the app '
                f"registration and its private key; {_DOCS}.",
                id="msal_django.E050",
            )
        ]
    now = time.time()
    until = datetime.fromtimestamp(certificate.expires, UTC).strftime("%Y-%m-%d %H:%M UTC")
    name = f"The certificate of CLIENT_CERTIFICATE (thumbprint {certificate.thumbprint})"
    if certificate.expires <= now:
        return [
            Error(
                f"{name} expired on {until}: Entra ID refuses it.",
                hint="Upload a new certificate to the app registration and point "
                "CLIENT_CERTIFICATE at it.",
                id="msal_django.E054",
            )
        ]
    if certificate.certificate.not_valid_before_utc.timestamp() > now:
        return [
            Error(
                f"{name} is not valid yet.",
                hint="Check the clock, or wait for the certificate's start date.",
                id="msal_django.E054",
            )
        ]
    if certificate.expires - now < EXPIRY_WARNING_DAYS * 86400:
        return [
            Warning(
                f"{name} expires on {until}, within {EXPIRY_WARNING_DAYS} days.",
                hint="Upload the next certificate to the app registration now (two can be "
                "registered at once), then swap the files: no sign-in fails in between.",
                id="msal_django.W050",
            )
        ]
    return []


def _check_file(path: Any, name: str) -> list[CheckMessage]:
    problem = None
    if not isinstance(path, (str, os.PathLike)):
        problem = "must be a file's path"
    else:
        try:
            with open(path, "rb") as file:
                if not file.read(1):
                    problem = "is an empty file"
        except OSError as exc:
            problem = f"cannot be read ({exc.strerror or type(exc).__name__})"
    if problem is None:
        return []
    return [
        Error(
            f"{name} {problem}.",
            hint="It holds the federated token the app presents as its client assertion "
            f"(Kubernetes workload identity projects it); {_DOCS}.",
            id="msal_django.E052",
        )
    ]


def _check_managed_identity(value: Any) -> list[CheckMessage]:
    try:
        managed_identity(value)
    except CredentialError as exc:
        return [
            Error(
                f'MSAL_DJANGO["MANAGED_IDENTITY"] {exc}.',
                hint="The identity a federated credential of the app registration trusts; "
                f"{_DOCS}.",
                id="msal_django.E053",
            )
        ]
    return []
