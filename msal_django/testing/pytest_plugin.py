"""pytest fixtures for the local identity provider (the ``msal_django`` pytest11 plugin).

- ``identity_provider`` (session): one started provider with the example client
  (``msal-django-example``) and the users alice and bob; stopped at the end.
- ``idp``: the same provider, ``reset()`` before each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .provider import IdentityProvider, add_defaults


@pytest.fixture(scope="session")
def identity_provider() -> Iterator[IdentityProvider]:
    with IdentityProvider() as provider:
        add_defaults(provider)
        yield provider


@pytest.fixture
def idp(identity_provider: IdentityProvider) -> IdentityProvider:
    identity_provider.reset()
    return identity_provider
