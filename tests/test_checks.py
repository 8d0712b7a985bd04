"""System checks: each wrong setting has an id and a hint, and `manage.py check` runs them."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from msal_django.checks import check_settings


def ids(settings_override=None):
    return [message.id for message in check_settings()]


def with_config(settings, **changes):
    config = {**settings.MSAL_DJANGO, **changes}
    for key, value in list(config.items()):
        if value is ...:
            del config[key]
    settings.MSAL_DJANGO = config


def test_valid_configuration_has_no_messages():
    assert check_settings() == []


def test_missing_settings_dict(settings):
    del settings.MSAL_DJANGO
    assert ids() == ["msal_django.E001"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"CLIENT_ID": ...}, "msal_django.E002"),
        ({"CLIENT_ID": ""}, "msal_django.E002"),
        ({"CLIENT_SECRET": ...}, "msal_django.E003"),
        ({"CLIENT_SECRET": 42}, "msal_django.E003"),
        ({"CLIENT_SECRET": ""}, "msal_django.E003"),
        ({"CLIENT_SECRET": ..., "CLIENT_CREDENTIAL": 42}, "msal_django.E003"),
        ({"CLIENT_CREDENTIAL": {"private_key": "k", "thumbprint": "t"}}, "msal_django.E023"),
        ({"CLIENT_SECRET": ..., "CLIENT_CREDENTIAL": "a secret"}, "msal_django.W003"),
        ({"AUTHORITY": ...}, "msal_django.E004"),
        ({"OIDC_AUTHORITY": "https://issuer.example"}, "msal_django.E004"),
        ({"AUTHORITY": "http://login.example/tenant"}, "msal_django.E005"),
        ({"AUTHORITY": "login.microsoftonline.com/tenant"}, "msal_django.E005"),
        ({"SCOPES": "User.Read"}, "msal_django.E006"),
        ({"SCOPES": ["openid", "User.Read"]}, "msal_django.E007"),
        ({"TOKEN_CACHE": "memcached"}, "msal_django.E008"),
        ({"ACCESS_TOKENS_IN_MEMORY": -1}, "msal_django.E024"),
        ({"ACCESS_TOKENS_IN_MEMORY": "1000"}, "msal_django.E024"),
        ({"ACCESS_TOKENS_IN_MEMORY": True}, "msal_django.E024"),
        ({"INVALIDATION_WINDOW": 0}, "msal_django.E028"),
        ({"INVALIDATION_WINDOW": 10}, "msal_django.E028"),
        ({"INVALIDATION_WINDOW": "0.05"}, "msal_django.E028"),
        ({"ENCRYPTION_KEYS": []}, "msal_django.E009"),
        ({"ENCRYPTION_KEYS": ["short"]}, "msal_django.E009"),
        ({"HTTP_CLIENT": "no.such.module.factory"}, "msal_django.E010"),
        ({"HTTP_CLIENT": "msal_django.conf.DEFAULTS"}, "msal_django.E010"),
        ({"REDIRECT_URI": "/auth/callback/"}, "msal_django.E011"),
        ({"CLIENT_SECRETS": "typo"}, "msal_django.W001"),
        ({"REFRESH_TOKEN_LIFETIME": "90 days"}, "msal_django.E022"),
        ({"TIMEOUT": -1}, "msal_django.E022"),
        ({"REFRESH_RACE_GRACE": True}, "msal_django.E022"),
    ],
)
def test_each_wrong_setting_is_reported(settings, changes, expected):
    with_config(settings, **changes)
    messages = check_settings()
    assert [m.id for m in messages] == [expected]
    assert messages[0].hint


def test_a_certificate_credential_alone_is_valid(settings):
    certificate = {"private_key": "-----BEGIN PRIVATE KEY-----...", "thumbprint": "AB" * 20}
    with_config(settings, CLIENT_SECRET=..., CLIENT_CREDENTIAL=certificate)
    assert check_settings() == []


def test_oidc_authority_alone_is_valid(settings):
    with_config(settings, AUTHORITY=..., OIDC_AUTHORITY="https://issuer.example/tenant")
    assert check_settings() == []


def test_missing_apps_middleware_and_backend(settings):
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a != "django.contrib.sessions"]
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "AuthenticationMiddleware" not in m]
    assert sorted(ids()) == ["msal_django.E012", "msal_django.E013", "msal_django.E014"]


def test_manage_py_check_runs_them(settings):
    with_config(settings, TOKEN_CACHE="memcached")
    with pytest.raises(SystemCheckError, match=r"msal_django\.E008"):
        call_command("check")


def test_durations_accept_seconds_or_a_timedelta(settings):
    from datetime import timedelta

    with_config(settings, REFRESH_TOKEN_LIFETIME=timedelta(days=30), TIMEOUT=2.5, CLOCK_SKEW=0)
    assert check_settings() == []


def test_a_subclass_of_msal_backend_satisfies_the_backend_check(settings):
    settings.AUTHENTICATION_BACKENDS = ["tests.test_signin.ProjectBackend"]
    assert "msal_django.E013" not in ids()


def test_msal_backend_listed_beside_a_subclass_is_a_warning(settings):
    settings.AUTHENTICATION_BACKENDS = [
        "tests.test_signin.RefusingBackend",
        "msal_django.backends.MsalBackend",
    ]
    assert ids() == ["msal_django.W013"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"ROLE_CLAIMS": "roles"}, "msal_django.E040"),
        ({"ROLE_CLAIMS": ["roles", 1]}, "msal_django.E040"),
        ({"GROUP_MAP": [("a", "b")]}, "msal_django.E040"),
        ({"GROUP_MAP": {"a": None}}, "msal_django.E040"),
        ({"FLAG_MAP": {"is_staff": "Admin"}}, "msal_django.E040"),
        ({"ALLOWED_TENANTS": "7d4b3a2e"}, "msal_django.E040"),
        ({"GRAPH_SCOPES": "GroupMember.Read.All"}, "msal_django.E040"),
        ({"GRAPH_URL": "http://graph.microsoft.com/v1.0"}, "msal_django.E041"),
        ({"GRAPH_URL": None}, "msal_django.E041"),
        ({"AUTHORITY": "https://login.microsoftonline.com/organizations"}, "msal_django.W040"),
        ({"AUTHORITY": "https://login.microsoftonline.com/Common/"}, "msal_django.W040"),
    ],
)
def test_wrong_authorization_settings(settings, changes, expected):
    with_config(settings, **changes)
    assert ids() == [expected]


def test_a_multi_tenant_authority_with_an_allow_list_is_fine(settings):
    with_config(
        settings,
        AUTHORITY="https://login.microsoftonline.com/organizations",
        ALLOWED_TENANTS=["7d4b3a2e-58c4-4b44-9f0e-3d1c6a5b8e90"],
    )
    assert ids() == []
