"""Every public name of the product contract (DESIGN.md) is where users import it from,
whatever module holds the code: the names, the dotted paths settings name, the URL names
and the management command."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.core.management import get_commands
from django.urls import reverse

PUBLIC = {
    "msal_django": [
        "InteractionRequired",
        "MsalDjangoError",
        "ProviderError",
        "StoreUnavailable",
        "aget_token",
        "aget_token_for_user",
        "claims_challenge",
        "get_app_token",
        "get_token",
        "get_token_for_user",
        "get_token_on_behalf_of",
    ],
    "msal_django.apps": ["MsalDjangoConfig"],
    "msal_django.backends": ["MsalBackend"],
    "msal_django.middleware": ["InteractionRequiredMiddleware"],
    "msal_django.signals": ["account_removed"],
    "msal_django.api": ["AppCaller", "require_token"],
    "msal_django.drf": ["AppCaller", "BearerTokenAuthentication", "HasRoles", "HasScopes"],
    "msal_django.views": ["callback", "login", "logout"],
    "msal_django.stores": ["TokenStore", "get_store"],
    "msal_django.testing": ["IdentityProvider", "client_certificate", "http_client"],
    "msal_django.azure": [
        "AppCredential",
        "AsyncAppCredential",
        "AsyncOnBehalfOfCredential",
        "AsyncRequestCredential",
        "AsyncUserCredential",
        "OnBehalfOfCredential",
        "RequestCredential",
        "UserCredential",
    ],
    "msal_django.http": ["HttpxTokenAuth", "TokenAuth"],
}


@pytest.mark.parametrize(
    ("module", "name"), [(module, name) for module, names in PUBLIC.items() for name in names]
)
def test_a_public_name_imports_from_where_the_docs_say(module, name):
    assert getattr(importlib.import_module(module), name) is not None


def test_the_public_api_functions_are_the_ones_that_do_the_work():
    import msal_django
    from msal_django.webapi import downstream

    assert msal_django.get_token_on_behalf_of is downstream.get_token_on_behalf_of
    assert msal_django.get_app_token is downstream.get_app_token


@pytest.mark.parametrize(
    "name", ["login", "callback", "logout", "frontchannel_logout", "backchannel_logout"]
)
def test_the_url_names_resolve(name):
    assert reverse(f"msal_django:{name}").startswith("/auth/")


def test_the_app_and_its_command_are_installed():
    assert apps.get_app_config("msal_django").name == "msal_django"
    assert get_commands()["msal_purge"] == "msal_django"
