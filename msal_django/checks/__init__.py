"""System checks: every missing or wrong setting is reported by ``manage.py check``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.utils.module_loading import import_string

from msal_django.checks.authorization import check_authorization
from msal_django.checks.common import check_callable, check_durations
from msal_django.checks.credentials import check_credentials
from msal_django.checks.redis import check_redis
from msal_django.checks.session_check import check_session_check
from msal_django.conf import DEFAULTS, TOKEN_CACHES, seconds
from msal_django.constants import RESERVED_SCOPES
from msal_django.stores import custom_store_class

BACKEND = "msal_django.backends.MsalBackend"


def check_settings(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    config = getattr(settings, "MSAL_DJANGO", None)
    if not isinstance(config, dict):
        return [
            Error(
                "settings.MSAL_DJANGO is missing or not a dict.",
                hint='Add MSAL_DJANGO = {"CLIENT_ID": ..., "CLIENT_SECRET": ..., '
                '"AUTHORITY": ...} to your settings (see README.md).',
                id="msal_django.E001",
            )
        ]
    merged = {**DEFAULTS, **config}
    return [
        *_check_unknown_keys(config),
        *_check_client(merged),
        *_check_authority(merged),
        *_check_scopes(merged),
        *_check_store(merged),
        *check_redis(merged, config),
        *_check_keys(merged),
        *_check_http_client(merged),
        *_check_urls(merged),
        *_check_django_setup(),
        *_check_logout_channels(merged),
        *_check_general_durations(merged),
        *check_authorization(merged),
        *check_session_check(merged),
    ]


def _check_unknown_keys(config: dict[str, Any]) -> list[CheckMessage]:
    unknown = sorted(set(config) - set(DEFAULTS))
    if not unknown:
        return []
    return [
        Warning(
            f"MSAL_DJANGO has unknown keys: {', '.join(unknown)}.",
            hint=f"Known keys: {', '.join(sorted(DEFAULTS))}. A typo?",
            id="msal_django.W001",
        )
    ]


def _check_client(config: dict[str, Any]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    if not isinstance(config["CLIENT_ID"], str) or not config["CLIENT_ID"]:
        errors.append(
            Error(
                'MSAL_DJANGO["CLIENT_ID"] is missing.',
                hint="Set it to the Application (client) ID of your app registration.",
                id="msal_django.E002",
            )
        )
    return errors + check_credentials(config)


def _check_authority(config: dict[str, Any]) -> list[CheckMessage]:
    authority, oidc = config["AUTHORITY"], config["OIDC_AUTHORITY"]
    if bool(authority) == bool(oidc):
        return [
            Error(
                'Set exactly one of MSAL_DJANGO["AUTHORITY"] and MSAL_DJANGO["OIDC_AUTHORITY"].',
                hint="AUTHORITY for Entra ID (https://login.microsoftonline.com/<tenant-id>), "
                "OIDC_AUTHORITY for any other OpenID Connect issuer.",
                id="msal_django.E004",
            )
        ]
    name = "AUTHORITY" if authority else "OIDC_AUTHORITY"
    value = authority or oidc
    parsed = urlparse(value) if isinstance(value, str) else None
    if parsed is None or parsed.scheme != "https" or not parsed.netloc:
        return [
            Error(
                f'MSAL_DJANGO["{name}"] must be an https URL, not {value!r}.',
                hint="MSAL only talks to https authorities, e.g. "
                "https://login.microsoftonline.com/<tenant-id>.",
                id="msal_django.E005",
            )
        ]
    return []


def _check_scopes(config: dict[str, Any]) -> list[CheckMessage]:
    scopes = config["SCOPES"]
    if not isinstance(scopes, list | tuple) or not all(isinstance(s, str) for s in scopes):
        return [
            Error(
                'MSAL_DJANGO["SCOPES"] must be a list of strings.',
                hint='For example ["User.Read"].',
                id="msal_django.E006",
            )
        ]
    reserved = sorted(RESERVED_SCOPES.intersection(scopes))
    if reserved:
        return [
            Error(
                f'MSAL_DJANGO["SCOPES"] contains {", ".join(reserved)}.',
                hint="MSAL adds openid, profile and offline_access itself and refuses them; "
                "remove them.",
                id="msal_django.E007",
            )
        ]
    return []


def _check_store(config: dict[str, Any]) -> list[CheckMessage]:
    cache = config["TOKEN_CACHE"]
    if cache not in TOKEN_CACHES and not (
        isinstance(cache, str) and custom_store_class(cache) is not None
    ):
        return [
            Error(
                f'MSAL_DJANGO["TOKEN_CACHE"] is {cache!r}: neither a store msal-django has '
                "nor the dotted path of a TokenStore subclass.",
                hint=f"Use one of: {', '.join(repr(c) for c in TOKEN_CACHES)}, or "
                '"yourapp.stores.YourStore" (a subclass of msal_django.stores.TokenStore).',
                id="msal_django.E008",
            )
        ]
    size = config["ACCESS_TOKENS_IN_MEMORY"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        return [
            Error(
                f'MSAL_DJANGO["ACCESS_TOKENS_IN_MEMORY"] is {size!r}: it must be a whole '
                "number of accounts >= 0.",
                hint="Leave it unset for 1000; 0 keeps no access token in process memory.",
                id="msal_django.E024",
            )
        ]
    window = config["INVALIDATION_WINDOW"]
    if isinstance(window, bool) or not (
        isinstance(window, int | float | timedelta) and 0.005 <= seconds(window) <= 5
    ):
        return [
            Error(
                f'MSAL_DJANGO["INVALIDATION_WINDOW"] is {window!r}: it must be a number of '
                "seconds (or a timedelta) between 0.005 and 5.",
                hint="Leave it unset for 0.05: every logout then waits 50 ms after its delete.",
                id="msal_django.E028",
            )
        ]
    return []


def _check_keys(config: dict[str, Any]) -> list[CheckMessage]:
    keys = config["ENCRYPTION_KEYS"]
    if keys is None:
        return []
    if (
        not isinstance(keys, list | tuple)
        or not keys
        or not all(isinstance(k, str | bytes) and len(k) >= 32 for k in keys)
    ):
        return [
            Error(
                'MSAL_DJANGO["ENCRYPTION_KEYS"] must be a non-empty list of secrets of at '
                "least 32 characters, newest first.",
                hint="Leave it unset to derive the keys from SECRET_KEY and SECRET_KEY_FALLBACKS.",
                id="msal_django.E009",
            )
        ]
    return []


def _check_http_client(config: dict[str, Any]) -> list[CheckMessage]:
    if not config["HTTP_CLIENT"]:
        return []
    hint = (
        "Give the dotted path of a callable that returns a requests.Session-like object, "
        "e.g. 'myproject.http.msal_session'."
    )
    return check_callable(config, "HTTP_CLIENT", hint, "msal_django.E010")[1]


def _check_urls(config: dict[str, Any]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name in ("REDIRECT_URI", "POST_LOGOUT_REDIRECT_URI"):
        value = config[name]
        if value and not (isinstance(value, str) and urlparse(value).scheme in ("http", "https")):
            errors.append(
                Error(
                    f'MSAL_DJANGO["{name}"] must be an absolute http(s) URL.',
                    hint="Leave it unset to build it from the request.",
                    id="msal_django.E011",
                )
            )
    return errors


def _check_django_setup() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for app, what in (("django.contrib.sessions", "sessions"), ("django.contrib.auth", "auth")):
        if not apps.is_installed(app):
            errors.append(
                Error(
                    f"msal_django needs {app} in INSTALLED_APPS.",
                    hint=f"Add {app!r}: sign-in state and the signed-in user live in {what}.",
                    id="msal_django.E012",
                )
            )
    msal_backends = _msal_backends()
    if not msal_backends:
        errors.append(
            Error(
                f"{BACKEND} (or a subclass of it) is not in AUTHENTICATION_BACKENDS.",
                hint=f'Add "{BACKEND}" to AUTHENTICATION_BACKENDS so users can sign in.',
                id="msal_django.E013",
            )
        )
    elif len(msal_backends) > 1:
        errors.append(
            Warning(
                f"AUTHENTICATION_BACKENDS lists {len(msal_backends)} MsalBackend classes: "
                f"{', '.join(msal_backends)}. A sign-in one of them refuses, the next admits.",
                hint="Keep only the one that signs people in (your subclass, if you have one).",
                id="msal_django.W013",
            )
        )
    middleware = list(getattr(settings, "MIDDLEWARE", []))
    for needed in (
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ):
        if needed not in middleware:
            errors.append(
                Error(
                    f"{needed} is not in MIDDLEWARE.",
                    hint="msal_django reads the signed-in user and their session.",
                    id="msal_django.E014",
                )
            )
    return errors


def _msal_backends() -> list[str]:
    """The entries of AUTHENTICATION_BACKENDS that are MsalBackend or a subclass of it."""
    from msal_django.backends import MsalBackend

    found = []
    for path in settings.AUTHENTICATION_BACKENDS:
        try:
            backend = import_string(path)
        except ImportError:
            continue  # Django reports a backend it cannot import at the first sign-in
        if isinstance(backend, type) and issubclass(backend, MsalBackend):
            found.append(path)
    return found


def _check_logout_channels(config: dict[str, Any]) -> list[CheckMessage]:
    """Front- and back-channel logout end sessions by key, and remember logout tokens."""
    errors: list[CheckMessage] = []
    if settings.SESSION_ENGINE == "django.contrib.sessions.backends.signed_cookies":
        errors.append(
            Error(
                "The signed_cookies session engine cannot end a session from the server: a "
                "front- or back-channel logout could not sign the browser out.",
                hint='Use a server-side engine ("django.contrib.sessions.backends.db", '
                '"cache", "cached_db" or "file").',
                id="msal_django.E020",
            )
        )
    errors += check_durations(config, "msal_django.E021")
    default_cache = getattr(settings, "CACHES", {}).get("default", {})
    if default_cache.get("BACKEND") == "django.core.cache.backends.dummy.DummyCache":
        errors.append(
            Warning(
                "The default cache is the DummyCache: a replayed back-channel logout token "
                "(its jti) cannot be detected.",
                hint="Use a shared cache (Redis, memcached or the database cache) as CACHES"
                '["default"].',
                id="msal_django.W020",
            )
        )
    return errors


def _check_general_durations(config: dict[str, Any]) -> list[CheckMessage]:
    return check_durations(config, "msal_django.E022")
