"""A local identity provider that behaves like Microsoft Entra ID, for tests and demos.

    from msal_django.testing import IdentityProvider

    with IdentityProvider() as idp:
        idp.register_client("app", "secret", redirect_uris=["http://localhost:8000/cb/"])
        ...  # MSAL with authority=idp.authority, instance_discovery=False,
        ...  # http_client=idp.http_client()

``python -m msal_django.testing`` runs one on its own; the pytest plugin
(``msal_django.testing.pytest_plugin``) provides the ``identity_provider`` and ``idp``
fixtures. All of it needs the ``testing`` extra: ``pip install "msal-django[testing]"``.

The names below are imported on first use, so that the pytest plugin, loaded by every
pytest run of a project that installed msal-django, imports nothing of the provider.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .certificates import ClientCertificate, client_certificate
    from .provider import IdentityProvider, http_client
    from .records import (
        BackchannelLogout,
        FederatedCredential,
        ManagedIdentity,
        RecordedRequest,
        RegisteredClient,
        SignInError,
        SignOutResult,
        TestUser,
    )

__all__ = [
    "BackchannelLogout",
    "ClientCertificate",
    "FederatedCredential",
    "IdentityProvider",
    "ManagedIdentity",
    "RecordedRequest",
    "RegisteredClient",
    "SignInError",
    "SignOutResult",
    "TestUser",
    "client_certificate",
    "http_client",
]

_MODULES = {
    "IdentityProvider": "provider",
    "http_client": "provider",
    "ClientCertificate": "certificates",
    "client_certificate": "certificates",
}
# What the testing extra installs beyond msal-django's own requirements.
EXTRA_MODULES = ("werkzeug", "trustme")


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = import_module(f".{_MODULES.get(name, 'records')}", __name__)
    except ModuleNotFoundError as error:
        if error.name in EXTRA_MODULES:
            raise ModuleNotFoundError(
                f"msal_django.testing needs {error.name}, which the testing extra installs: "
                'pip install "msal-django[testing]"',
                name=error.name,
            ) from error
        raise
    value = getattr(module, name)
    globals()[name] = value
    return value
