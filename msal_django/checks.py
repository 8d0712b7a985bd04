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

from .conf import DEFAULTS, TOKEN_CACHES, seconds

BACKEND = "msal_django.backends.MsalBackend"
# MSAL adds these itself and refuses them in the scopes it is given.
RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})


def check_settings(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    config = getattr(settings, "MSAL_DJANGO", None)
    if not isinstance(config, dict):
        return [
            Error(
                "settings.MSAL_DJANGO is missing or not a dict.",
                hint='Add MSAL_DJANGO = {"CLIENT_ID": ..., "CLIENT_CREDENTIAL": ..., '
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
        *_check_redis(merged, config),
        *_check_keys(merged),
        *_check_http_client(merged),
        *_check_urls(merged),
        *_check_django_setup(),
        *_check_logout_channels(merged),
        *_check_general_durations(merged),
        *_check_authorization(merged),
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
    return errors + _check_credential(config["CLIENT_SECRET"], config["CLIENT_CREDENTIAL"])


def _check_credential(secret: Any, credential: Any) -> list[CheckMessage]:
    if secret is not None and credential is not None:
        return [
            Error(
                'Set one of MSAL_DJANGO["CLIENT_SECRET"] and MSAL_DJANGO["CLIENT_CREDENTIAL"].',
                hint="CLIENT_SECRET for a client secret, CLIENT_CREDENTIAL for MSAL's "
                "certificate dict.",
                id="msal_django.E023",
            )
        ]
    if secret is not None:
        valid = isinstance(secret, str) and bool(secret)
    else:
        valid = (isinstance(credential, str) and bool(credential)) or isinstance(credential, dict)
    if not valid:
        return [
            Error(
                'MSAL_DJANGO["CLIENT_SECRET"] (a string) or MSAL_DJANGO["CLIENT_CREDENTIAL"] '
                "(MSAL's certificate dict) is missing or of the wrong type.",
                hint="Set CLIENT_SECRET to the client secret, or CLIENT_CREDENTIAL to "
                '{"private_key": ..., "thumbprint": ...}; read them from the environment.',
                id="msal_django.E003",
            )
        ]
    if isinstance(credential, str):
        return [
            Warning(
                'MSAL_DJANGO["CLIENT_CREDENTIAL"] is a client secret: Django\'s error pages '
                "and ADMINS e-mails show settings whose names do not look secret, this one "
                "included.",
                hint='Name it MSAL_DJANGO["CLIENT_SECRET"]: Django hides that name.',
                id="msal_django.W003",
            )
        ]
    return []


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
    if config["TOKEN_CACHE"] not in TOKEN_CACHES:
        return [
            Error(
                f'MSAL_DJANGO["TOKEN_CACHE"] is {config["TOKEN_CACHE"]!r}.',
                hint=f"Use one of: {', '.join(repr(c) for c in TOKEN_CACHES)}.",
                id="msal_django.E008",
            )
        ]
    return []


def _check_redis(config: dict[str, Any], configured: dict[str, Any]) -> list[CheckMessage]:
    if config["TOKEN_CACHE"] != "redis":
        return []
    errors = _check_durations(
        config,
        ("REDIS_TTL_MARGIN", "REDIS_PENDING_CHECK_INTERVAL", "REDIS_WAIT_TIMEOUT"),
        "msal_django.E018",
    )
    replicas = config["REDIS_WAIT_REPLICAS"]
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        errors.append(
            Error(
                'MSAL_DJANGO["REDIS_WAIT_REPLICAS"] must be a whole number >= 0.',
                hint="0 (the default) does not wait for replicas; 1 makes a logout wait "
                "until a replica has its removal, so a failover cannot undo it.",
                id="msal_django.E035",
            )
        )
    if config["REDIS_CLIENT"]:
        return errors + _check_redis_client(config, configured)
    ignored = sorted({"REDIS_CLIENT_OPTIONS", "REDIS_KEY_PREFIX"} & set(configured))
    if ignored:
        errors.append(
            Warning(
                f"MSAL_DJANGO sets {' and '.join(ignored)} but not REDIS_CLIENT: ignored.",
                hint="They apply to REDIS_CLIENT only; a django-redis cache "
                "(REDIS_CACHE_ALIAS) has its own OPTIONS and KEY_PREFIX.",
                id="msal_django.W031",
            )
        )
    return errors + _check_redis_cache(config)


def _check_redis_client(config: dict[str, Any], configured: dict[str, Any]) -> list[CheckMessage]:
    """``REDIS_CLIENT``: a redis-py client of the project's, instead of a django-redis cache."""
    errors: list[CheckMessage] = []
    if configured.get("REDIS_CACHE_ALIAS") is not None:
        errors.append(
            Error(
                'MSAL_DJANGO sets both "REDIS_CLIENT" and "REDIS_CACHE_ALIAS".',
                hint="Set exactly one: REDIS_CLIENT for a redis-py client (a Redis Cluster), "
                "REDIS_CACHE_ALIAS for a django-redis cache.",
                id="msal_django.E030",
            )
        )
    factory, unusable = _check_callable(
        config,
        "REDIS_CLIENT",
        'Give the dotted path of a callable returning a redis-py client: "redis.Redis", '
        '"redis.cluster.RedisCluster" or a factory of your own.',
        "msal_django.E031",
    )
    errors += unusable
    options = config["REDIS_CLIENT_OPTIONS"]
    if not isinstance(options, dict):
        errors.append(
            Error(
                'MSAL_DJANGO["REDIS_CLIENT_OPTIONS"] must be a dict of keyword arguments.',
                hint='For example {"host": "redis.internal", "port": 6379, "ssl": True}.',
                id="msal_django.E032",
            )
        )
        return errors
    if options.get("read_from_replicas") or options.get("load_balancing_strategy") is not None:
        errors.append(
            Error(
                'MSAL_DJANGO["REDIS_CLIENT_OPTIONS"] asks for reads from replicas.',
                hint="Drop read_from_replicas and load_balancing_strategy: a replica may "
                "still hold tokens a logout removed. Tokens are read from primaries.",
                id="msal_django.E033",
            )
        )
    prefix = config["REDIS_KEY_PREFIX"]
    if not isinstance(prefix, str) or not prefix or "{" in prefix or "}" in prefix:
        errors.append(
            Error(
                'MSAL_DJANGO["REDIS_KEY_PREFIX"] must be a non-empty string without braces.',
                hint="Braces make a cluster hash tag: every account would land on one node. "
                'The default is "msal_django".',
                id="msal_django.E034",
            )
        )
    if isinstance(factory, type):  # a redis-py class, called with the options
        names = ("socket_connect_timeout", "socket_timeout")
        where = 'MSAL_DJANGO["REDIS_CLIENT_OPTIONS"]'
        errors += _check_timeouts(where, options, names, "msal_django.W030")
    return errors


def _check_timeouts(
    where: str, options: dict[str, Any], names: Sequence[str], check_id: str
) -> list[CheckMessage]:
    missing = [name for name in names if not options.get(name)]
    if not missing:
        return []
    return [
        Warning(
            f"{where} sets no {' or '.join(missing)}: a Redis that stops answering would "
            "hold requests (and logouts) for as long as the OS waits.",
            hint=f'Set e.g. "{names[0]}": 1, "{names[1]}": 1 (seconds); requests then answer '
            "503 while Redis is unavailable.",
            id=check_id,
        )
    ]


def _check_callable(
    config: dict[str, Any], name: str, hint: str, check_id: str
) -> tuple[Any, list[CheckMessage]]:
    """The callable a dotted-path setting names, or None and an error saying why not."""
    path = config[name]
    try:
        factory = import_string(path) if isinstance(path, str) else None
    except ImportError as exc:
        factory, reason = None, str(exc)
    else:
        reason = "it is not callable"
    if callable(factory):
        return factory, []
    message = f'MSAL_DJANGO["{name}"] {path!r} cannot be used: {reason}.'
    return None, [Error(message, hint=hint, id=check_id)]


def _check_redis_cache(config: dict[str, Any]) -> list[CheckMessage]:
    """``REDIS_CACHE_ALIAS``: a django-redis cache."""
    try:
        from django_redis.cache import RedisCache
    except ImportError:
        return [
            Error(
                'MSAL_DJANGO["TOKEN_CACHE"] is "redis" but django-redis cannot be imported.',
                hint="pip install 'msal-django[redis]' (or django-redis).",
                id="msal_django.E015",
            )
        ]
    alias = config["REDIS_CACHE_ALIAS"] or "default"
    cache = getattr(settings, "CACHES", {}).get(alias)
    if not isinstance(cache, dict):
        return [
            Error(
                f'MSAL_DJANGO["REDIS_CACHE_ALIAS"] is {alias!r}, which is not in CACHES.',
                hint="Add a django-redis cache under that alias to CACHES, or set "
                "REDIS_CACHE_ALIAS to the alias of one.",
                id="msal_django.E016",
            )
        ]
    try:
        backend = import_string(cache.get("BACKEND", ""))
    except ImportError:
        backend = None
    if not (isinstance(backend, type) and issubclass(backend, RedisCache)):
        return [
            Error(
                f"CACHES[{alias!r}] is {cache.get('BACKEND')!r}, not a django-redis cache.",
                hint='Use "BACKEND": "django_redis.cache.RedisCache" (Django\'s own RedisCache, '
                "LocMemCache and the others cannot hold tokens shared by every worker).",
                id="msal_django.E017",
            )
        ]
    names = ("SOCKET_CONNECT_TIMEOUT", "SOCKET_TIMEOUT")
    where = f'CACHES[{alias!r}]["OPTIONS"]'
    return _check_timeouts(where, cache.get("OPTIONS") or {}, names, "msal_django.W002")


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
    return _check_callable(config, "HTTP_CLIENT", hint, "msal_django.E010")[1]


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
    if BACKEND not in settings.AUTHENTICATION_BACKENDS:
        errors.append(
            Error(
                f"{BACKEND} is not in AUTHENTICATION_BACKENDS.",
                hint=f'Add "{BACKEND}" to AUTHENTICATION_BACKENDS so users can sign in.',
                id="msal_django.E013",
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
    errors += _check_durations(config, ("LOGOUT_TOKEN_MAX_AGE", "CLOCK_SKEW"), "msal_django.E021")
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


def _check_durations(
    config: dict[str, Any], names: Sequence[str], check_id: str
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name in names:
        value = config[name]
        if isinstance(value, bool) or not (
            isinstance(value, int | float | timedelta) and seconds(value) >= 0
        ):
            errors.append(
                Error(
                    f'MSAL_DJANGO["{name}"] must be a number of seconds (or a timedelta) >= 0.',
                    hint="Leave it unset for the default (see README.md).",
                    id=check_id,
                )
            )
    return errors


def _check_general_durations(config: dict[str, Any]) -> list[CheckMessage]:
    return _check_durations(
        config, ("REFRESH_TOKEN_LIFETIME", "REFRESH_RACE_GRACE", "TIMEOUT"), "msal_django.E022"
    )


# -- authorization from the identity provider (msal_django.authorization) -----------------

MULTI_TENANT = frozenset({"common", "organizations"})


def _is_strings(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) and v for v in value)


def _check_authorization(config: dict[str, Any]) -> list[CheckMessage]:
    """The mapping settings' types, GRAPH_URL, and a multi-tenant authority's allow-list."""
    wrong = [
        name
        for name, ok in (
            ("ROLE_CLAIMS", _is_strings(config["ROLE_CLAIMS"])),
            ("GRAPH_SCOPES", _is_strings(config["GRAPH_SCOPES"])),
            (
                "GROUP_MAP",
                isinstance(config["GROUP_MAP"], dict)
                and all(
                    isinstance(k, str) and isinstance(v, str) and v
                    for k, v in config["GROUP_MAP"].items()
                ),
            ),
            (
                "FLAG_MAP",
                isinstance(config["FLAG_MAP"], dict)
                and all(
                    isinstance(k, str) and _is_strings(v) for k, v in config["FLAG_MAP"].items()
                ),
            ),
            (
                "ALLOWED_TENANTS",
                config["ALLOWED_TENANTS"] is None or _is_strings(config["ALLOWED_TENANTS"]),
            ),
        )
        if not ok
    ]
    errors: list[CheckMessage] = [
        Error(
            f'MSAL_DJANGO["{name}"] has the wrong type.',
            hint="ROLE_CLAIMS, GRAPH_SCOPES, ALLOWED_TENANTS: lists of strings; GROUP_MAP: "
            '{"claim value": "group name"}; FLAG_MAP: {"is_staff": ["claim value", ...]}.',
            id="msal_django.E040",
        )
        for name in wrong
    ]
    graph = urlparse(config["GRAPH_URL"]) if isinstance(config["GRAPH_URL"], str) else None
    if graph is None or graph.scheme != "https" or not graph.netloc:
        errors.append(
            Error(
                f'MSAL_DJANGO["GRAPH_URL"] must be an https URL, not {config["GRAPH_URL"]!r}.',
                hint="Leave it unset for https://graph.microsoft.com/v1.0 (a national cloud "
                "has its own, e.g. https://graph.microsoft.us/v1.0).",
                id="msal_django.E041",
            )
        )
    authority = config["AUTHORITY"] if isinstance(config["AUTHORITY"], str) else ""
    tenant = urlparse(authority).path.strip("/").split("/")[0].lower()
    if tenant in MULTI_TENANT and config["ALLOWED_TENANTS"] is None:
        errors.append(
            Warning(
                f"The authority is multi-tenant ({tenant}) and ALLOWED_TENANTS is not set: "
                "any Entra tenant in the world can sign in.",
                hint='Set MSAL_DJANGO["ALLOWED_TENANTS"] to the tenant ids (tid) that may sign '
                "in, or use your tenant's own authority.",
                id="msal_django.W040",
            )
        )
    return errors
