"""A local identity provider that behaves like Microsoft Entra ID, for tests and demos.

    from msal_django.testing import IdentityProvider

    with IdentityProvider() as idp:
        idp.register_client("app", "secret", redirect_uris=["http://localhost:8000/cb/"])
        ...  # MSAL with authority=idp.authority, instance_discovery=False,
        ...  # http_client=idp.http_client()

``python -m msal_django.testing`` runs one on its own; the pytest plugin
(``msal_django.testing.pytest_plugin``) provides the ``identity_provider`` and ``idp``
fixtures.
"""

from __future__ import annotations

from .provider import IdentityProvider, http_client
from .records import (
    BackchannelLogout,
    RecordedRequest,
    RegisteredClient,
    SignInError,
    SignOutResult,
    TestUser,
)

__all__ = [
    "BackchannelLogout",
    "IdentityProvider",
    "RecordedRequest",
    "RegisteredClient",
    "SignInError",
    "SignOutResult",
    "TestUser",
    "http_client",
]
