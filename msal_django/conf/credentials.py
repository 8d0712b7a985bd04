"""The ``MSAL_DJANGO`` keys that name the app's credential (``Settings`` lists them in
docs order; ``msal_django.credentials`` builds what MSAL is given from them)."""

from __future__ import annotations

from typing import Any

from msal_django.conf.setting import Setting, configured
from msal_django.redact import Secret


def _optional(value: Any) -> Any:
    return value or None


def _credential(value: Any) -> str | dict[str, Any] | None:
    """What MSAL is given: ``CLIENT_SECRET``, else ``CLIENT_CREDENTIAL``; no repr shows it."""
    credential = configured("CLIENT_SECRET") or value
    if isinstance(credential, str):
        return Secret(credential)
    if isinstance(credential, dict):
        return {k: Secret(v) if isinstance(v, str) else v for k, v in credential.items()}
    return None


CLIENT_SECRET: Setting[Any] = Setting(
    None,
    _optional,
    "The app registration's client secret: one of the app's credentials, of which exactly "
    "one is set (:doc:`/topics/credentials`, :check:`msal_django.E023`). Django hides "
    "settings named like this one in its technical 500 page and the ADMINS e-mail. Read "
    "it from the environment or a secret store, never from source control. Microsoft "
    "recommends a certificate or a federated credential instead.",
    default_text="one credential is required",
)
CLIENT_CREDENTIAL = Setting(
    None,
    _credential,
    'MSAL\'s own credential dict, passed as it is (``{"private_key": "<PEM>", '
    '"thumbprint": "<hex>"}`` and the other forms MSAL documents); Django hides its '
    "``private_key`` and ``passphrase``. Prefer :setting:`CLIENT_CERTIFICATE`, which "
    "reads files and is checked at start-up. A client secret here works too, but "
    "Django's error reports would show it (:check:`msal_django.W003`).",
    default_text="one credential is required",
)
CLIENT_CERTIFICATE: Setting[Any] = Setting(
    None,
    _optional,
    'A certificate uploaded to the app registration: ``{"private_key_path": ..., '
    '"certificate_path": ...}`` (PEM files; an encrypted key takes ``"passphrase"``) or '
    '``{"pfx_path": ..., "passphrase": ...}``. The thumbprint is derived; '
    '``"send_certificate_chain": True`` sends the chain (``x5c``) for subject name + '
    "issuer authentication. The files are read once per settings change and checked at "
    "start-up (:check:`msal_django.E050`, :check:`msal_django.W050` when it expires "
    "within 30 days).",
    default_text="one credential is required",
)
CLIENT_ASSERTION: Setting[Any] = Setting(
    None,
    _optional,
    "A dotted path to a callable that returns a signed client assertion (a JWT, RFC "
    "7523), for example one a key vault signs. It is called only for requests that "
    "reach the provider (a cached token calls it zero times); what it raises is a "
    "``503``, logged without the assertion (:check:`msal_django.E051`).",
    default_text="one credential is required",
)
CLIENT_ASSERTION_FILE: Setting[Any] = Setting(
    None,
    _optional,
    "A file holding a federated token that is the app's client assertion (Kubernetes "
    "workload identity projects one and names it in ``AZURE_FEDERATED_TOKEN_FILE``). It "
    "is read again when it changes (one ``stat`` per provider call, no read) "
    "(:check:`msal_django.E052`).",
    default_text="``$AZURE_FEDERATED_TOKEN_FILE`` when no other credential is set",
)
MANAGED_IDENTITY: Setting[Any] = Setting(
    None,
    _optional,
    'A managed identity whose token is the app\'s client assertion: ``{"client_id": '
    '"<user-assigned identity>"}`` (or ``"object_id"``, ``"resource_id"``; ``True`` for '
    "the system-assigned one), with a federated credential on the app registration "
    'trusting it. The token, for ``api://AzureADTokenExchange`` (``"audience"`` for '
    "other clouds), comes from MSAL's ``ManagedIdentityClient`` and is kept until five "
    "minutes before it expires (:check:`msal_django.E053`).",
    default_text="one credential is required",
)
