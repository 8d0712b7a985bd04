"""The ``MSAL_DJANGO`` settings dict, each key declared once, read in one place.

Each key is a ``Setting`` on ``Settings``: its default, how its value is read, its help
(the documentation's settings reference shows it), and for a duration the system check
that validates it. ``DEFAULTS``, the checks and the docs are derived from them.

Every read goes to ``django.conf.settings`` afresh; what is built from the settings (the
MSAL app, the Redis client and key locator, the token memory) is dropped on Django's
``setting_changed`` (``apps.py``), so ``override_settings`` and pytest-django's
``settings`` fixture just work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

from django.conf import settings

from .redact import Secret

T = TypeVar("T")

TOKEN_CACHES = ("database", "redis")


def seconds(value: Any) -> float:
    """A duration setting in seconds: a number, or a ``timedelta``."""
    return float(value.total_seconds() if hasattr(value, "total_seconds") else value)


def configured(name: str) -> Any:
    """``MSAL_DJANGO[name]`` as configured, else its default."""
    config = getattr(settings, "MSAL_DJANGO", None)
    if isinstance(config, dict) and name in config:
        return config[name]
    return SETTINGS[name].default


class Setting(Generic[T]):
    """One key of ``MSAL_DJANGO``: read as ``msal_settings.<NAME>``.

    ``check`` names the system check that validates a duration (a number of seconds, or
    a ``timedelta``); it is None for any other kind of setting.
    """

    name: str

    def __init__(
        self, default: Any, read: Callable[[Any], T], help: str = "", *, check: str | None = None
    ) -> None:
        self.default, self.read, self.help, self.check = default, read, help, check

    @property
    def duration(self) -> bool:
        return self.check is not None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Setting[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object | None, owner: type) -> Setting[T] | T:
        if instance is None:
            return self
        return self.read(configured(self.name))


def _text(value: Any) -> str:
    return str(value or "")


def _optional(value: Any) -> Any:
    return value or None


def _whole_seconds(value: Any) -> int:
    return int(seconds(value))


def _credential(value: Any) -> str | dict[str, Any] | None:
    """What MSAL is given: ``CLIENT_SECRET``, else ``CLIENT_CREDENTIAL``; no repr shows it."""
    credential = configured("CLIENT_SECRET") or value
    if isinstance(credential, str):
        return Secret(credential)
    if isinstance(credential, dict):
        return {k: Secret(v) if isinstance(v, str) else v for k, v in credential.items()}
    return None


def _audiences(value: Any) -> list[str]:
    if value:
        return [str(audience) for audience in value]
    client_id = str(configured("CLIENT_ID") or "")
    return [client_id, f"api://{client_id}"] if client_id else []


def _encryption_keys(value: Any) -> tuple[str | bytes, ...]:
    if value:
        return tuple(value)
    # Derived from Django's own keys, so rotating SECRET_KEY (old one moved to
    # SECRET_KEY_FALLBACKS) rotates the token encryption keys without sign-outs.
    fallbacks = getattr(settings, "SECRET_KEY_FALLBACKS", [])
    return (settings.SECRET_KEY, *fallbacks)


class Settings:
    """Typed access to ``settings.MSAL_DJANGO``, one ``Setting`` per key, in the order
    the settings reference lists them."""

    CLIENT_ID = Setting(None, _text)
    CLIENT_SECRET: Setting[Any] = Setting(None, _optional)
    CLIENT_CREDENTIAL = Setting(
        None,
        _credential,
        "What MSAL is given: ``CLIENT_SECRET``, else ``CLIENT_CREDENTIAL``; no repr shows it.",
    )
    AUTHORITY: Setting[str | None] = Setting(None, _optional)
    OIDC_AUTHORITY: Setting[str | None] = Setting(None, _optional)
    INSTANCE_DISCOVERY = Setting(True, bool)
    SCOPES: Setting[list[str]] = Setting([], lambda value: list(value or []))
    TOKEN_CACHE = Setting("database", str)
    REDIS_CACHE_ALIAS = Setting(
        None,  # unset, so that a check can tell it from an explicit "default"
        lambda value: str(value or "default"),
        "The django-redis cache holding tokens when ``REDIS_CLIENT`` is unset.",
    )
    REDIS_CLIENT: Setting[str | None] = Setting(
        None,
        _optional,
        "Dotted path of a callable returning a redis-py client (instead of the alias).",
    )
    REDIS_CLIENT_OPTIONS: Setting[dict[str, Any]] = Setting(
        {}, lambda value: dict(value or {}), "Keyword arguments ``REDIS_CLIENT`` is called with."
    )
    REDIS_KEY_PREFIX = Setting(
        "msal_django",
        str,
        "The keys' prefix with ``REDIS_CLIENT`` (the alias uses its cache's KEY_PREFIX).",
    )
    REDIS_WAIT_REPLICAS = Setting(
        0, int, "Replicas that must confirm a removal (and, best effort, a write) with ``WAIT``."
    )
    REDIS_WAIT_TIMEOUT = Setting(
        0.5,
        seconds,
        "Seconds ``WAIT`` waits for ``REDIS_WAIT_REPLICAS``; never more than half the "
        "Redis client's socket timeout.",
        check="msal_django.E018",
    )
    REDIS_TTL_MARGIN = Setting(
        24 * 3600,
        _whole_seconds,
        "Seconds a Redis key outlives ``REFRESH_TOKEN_LIFETIME``; a ``timedelta`` too.",
        check="msal_django.E018",
    )
    REDIS_PENDING_CHECK_INTERVAL = Setting(
        1.0,
        seconds,
        "Seconds between a process's checks for removals recorded while Redis was down.",
        check="msal_django.E018",
    )
    ENCRYPTION_KEYS = Setting(None, _encryption_keys)
    ACCESS_TOKENS_IN_MEMORY = Setting(
        1000,
        int,
        "Accounts (and callers of ``get_token_on_behalf_of``) whose access tokens each "
        "process keeps in memory between requests (an LRU), so a cache hit reads only the "
        "partition's version from the store; 0 keeps none (each hit loads and decrypts the "
        "partition).",
    )
    HTTP_CLIENT: Setting[str | None] = Setting(None, _optional)
    TIMEOUT = Setting(
        10,
        seconds,
        "Seconds each HTTP request to the provider may wait: MSAL's own HTTP client's, and "
        "each request of an ``HTTP_CLIENT`` session that sets no timeout of its own.",
        check="msal_django.E022",
    )
    REDIRECT_URI: Setting[str | None] = Setting(None, _optional)
    POST_LOGOUT_REDIRECT_URI: Setting[str | None] = Setting(None, _optional)
    PROVIDER_LOGOUT = Setting(True, bool)
    CREATE_USERS = Setting(True, bool)
    UPDATE_USERS = Setting(True, bool)
    MAX_PENDING_SIGN_INS = Setting(5, int)
    REFRESH_TOKEN_LIFETIME = Setting(
        90 * 24 * 3600,
        _whole_seconds,
        "Seconds; a ``timedelta`` is accepted too.",
        check="msal_django.E022",
    )
    REFRESH_RACE_GRACE = Setting(
        1.0,
        seconds,
        "Seconds to wait for a concurrent refresh before taking a refused refresh token "
        "for dead (providers that rotate refresh tokens strictly).",
        check="msal_django.E022",
    )
    LOGOUT_TOKEN_MAX_AGE = Setting(
        300,
        _whole_seconds,
        "Seconds a back-channel logout token is accepted after its ``iat``.",
        check="msal_django.E021",
    )
    CLOCK_SKEW = Setting(
        60,
        _whole_seconds,
        "Seconds of clock difference tolerated with the provider (``iat``, ``exp``).",
        check="msal_django.E021",
    )

    # -- authorization from the identity provider (msal_django.authorization) --
    ROLE_CLAIMS: Setting[list[str]] = Setting(
        ["roles", "groups"],
        lambda value: list(value or []),
        "ID-token claims whose values (app roles, group object ids) are mapped to groups "
        "and flags at each sign-in.",
    )
    GROUP_MAP: Setting[dict[str, str]] = Setting(
        {},
        lambda value: dict(value or {}),
        "Claim value (an app role, a group object id) -> the Django group it grants.",
    )
    MIRROR_GROUPS = Setting(
        False,
        bool,
        "Also grant a Django group named after each claim value ``GROUP_MAP`` leaves "
        "unmapped (created if missing).",
    )
    FLAG_MAP: Setting[dict[str, list[str]]] = Setting(
        {},
        lambda value: {flag: list(values) for flag, values in (value or {}).items()},
        "User flag (``is_staff``, ``is_superuser``) -> the claim values that set it; a flag "
        "named here is cleared at sign-in when none of its values is present.",
    )
    ALLOWED_TENANTS: Setting[frozenset[str] | None] = Setting(
        None,
        lambda value: None if value is None else frozenset(str(t).lower() for t in value),
        "Tenant ids (``tid``) allowed to sign in, lower-cased; ``None``: any tenant the "
        "authority admits.",
    )
    GRAPH_URL = Setting(
        "https://graph.microsoft.com/v1.0",
        lambda value: str(value).rstrip("/"),
        "Microsoft Graph's base URL, where group overage is resolved "
        "(``/me/transitiveMemberOf``); the token's ``_claim_sources`` is never used.",
    )
    GRAPH_SCOPES: Setting[list[str]] = Setting(
        ["GroupMember.Read.All"],
        lambda value: list(value or []),
        "Scopes of the user's token for reading their group memberships on overage "
        "(``GroupMember.Read.All``, or ``Directory.Read.All``).",
    )
    KEEP_GROUPS_ON_GRAPH_ERROR = Setting(
        False,
        bool,
        "When group overage cannot be resolved (Graph down or refusing), sign the user in "
        "with the groups and flags they had, instead of refusing the sign-in.",
    )

    # -- protected APIs (msal_django.api, msal_django.drf, msal_django.downstream) --
    API_AUDIENCES: Setting[list[str]] = Setting(
        None,
        _audiences,
        "The ``aud`` values a bearer token for this site's API may carry; by default the "
        "client id and its Application ID URI ``api://<CLIENT_ID>``.",
    )


SETTINGS: dict[str, Setting[Any]] = {
    name: value for name, value in vars(Settings).items() if isinstance(value, Setting)
}
DEFAULTS: dict[str, Any] = {name: setting.default for name, setting in SETTINGS.items()}

msal_settings = Settings()
