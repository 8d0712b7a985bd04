"""pytest fixtures for the local identity provider (the ``msal_django`` pytest11 plugin).

With the ``testing`` extra installed (``pip install "msal-django[testing]"``):

- ``identity_provider`` (session): one started provider with the example client
  (``msal-django-example``) and the users alice and bob; stopped at the end.
- ``idp``: the same provider, ``reset()`` before each test.

Every pytest run of a project that installed msal-django loads this module, so it imports
nothing but pytest: the provider is imported when a test first asks for a fixture. Without
the extra it registers no fixture at all and the project's pytest runs as it did before.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.util import find_spec
from typing import TYPE_CHECKING

import pytest

from . import EXTRA_MODULES

if TYPE_CHECKING:
    from .provider import IdentityProvider


def testing_extra_installed() -> bool:
    """Whether what the ``testing`` extra installs can be imported (without importing it)."""
    return all(find_spec(module) is not None for module in EXTRA_MODULES)


if testing_extra_installed():

    @pytest.fixture(scope="session")
    def identity_provider() -> Iterator[IdentityProvider]:
        from .provider import IdentityProvider, add_defaults

        with IdentityProvider() as provider:
            add_defaults(provider)
            yield provider

    @pytest.fixture
    def idp(identity_provider: IdentityProvider) -> IdentityProvider:
        identity_provider.reset()
        return identity_provider
