"""The ``MSAL_DJANGO`` settings dict, with its defaults, read in one place.

Every property reads ``django.conf.settings`` afresh, so ``override_settings`` and
pytest-django's ``settings`` fixture just work.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .redact import Secret

DEFAULTS: dict[str, Any] = {
    "CLIENT_ID": None,
    "CLIENT_SECRET": None,
    "CLIENT_CREDENTIAL": None,
    "AUTHORITY": None,
    "OIDC_AUTHORITY": None,
    "INSTANCE_DISCOVERY": True,
    "SCOPES": [],
    "TOKEN_CACHE": "database",
    "REDIS_CACHE_ALIAS": None,  # "default" unless REDIS_CLIENT is set
    "REDIS_CLIENT": None,
    "REDIS_CLIENT_OPTIONS": {},
    "REDIS_KEY_PREFIX": "msal_django",
    "REDIS_WAIT_REPLICAS": 0,
    "REDIS_WAIT_TIMEOUT": 0.5,
    "REDIS_TTL_MARGIN": 24 * 3600,
    "REDIS_PENDING_CHECK_INTERVAL": 1.0,
    "ENCRYPTION_KEYS": None,
    "HTTP_CLIENT": None,
    "TIMEOUT": 10,
    "REDIRECT_URI": None,
    "POST_LOGOUT_REDIRECT_URI": None,
    "PROVIDER_LOGOUT": True,
    "CREATE_USERS": True,
    "UPDATE_USERS": True,
    "MAX_PENDING_SIGN_INS": 5,
    "REFRESH_TOKEN_LIFETIME": 90 * 24 * 3600,
    "REFRESH_RACE_GRACE": 1.0,
    "LOGOUT_TOKEN_MAX_AGE": 300,
    "CLOCK_SKEW": 60,
    # Protected APIs (msal_django.api, msal_django.drf, msal_django.downstream).
    "API_AUDIENCES": None,  # [CLIENT_ID, "api://<CLIENT_ID>"]
}

TOKEN_CACHES = ("database", "redis")
# Settings that are a number of seconds or a timedelta.
DURATIONS = (
    "REFRESH_TOKEN_LIFETIME",
    "REFRESH_RACE_GRACE",
    "TIMEOUT",
    "REDIS_TTL_MARGIN",
    "REDIS_PENDING_CHECK_INTERVAL",
    "REDIS_WAIT_TIMEOUT",
    "LOGOUT_TOKEN_MAX_AGE",
    "CLOCK_SKEW",
)


def seconds(value: Any) -> float:
    """A duration setting in seconds: a number, or a ``timedelta``."""
    return float(value.total_seconds() if hasattr(value, "total_seconds") else value)


class Settings:
    """Typed access to ``settings.MSAL_DJANGO`` (see README.md for each key)."""

    def _get(self, name: str) -> Any:
        configured = getattr(settings, "MSAL_DJANGO", None)
        if isinstance(configured, dict) and name in configured:
            return configured[name]
        return DEFAULTS[name]

    @property
    def CLIENT_ID(self) -> str:
        return str(self._get("CLIENT_ID") or "")

    @property
    def CLIENT_CREDENTIAL(self) -> str | dict[str, Any] | None:
        """What MSAL is given: ``CLIENT_SECRET``, else ``CLIENT_CREDENTIAL``; no repr shows it."""
        credential = self._get("CLIENT_SECRET") or self._get("CLIENT_CREDENTIAL")
        if isinstance(credential, str):
            return Secret(credential)
        if isinstance(credential, dict):
            return {k: Secret(v) if isinstance(v, str) else v for k, v in credential.items()}
        return None

    @property
    def AUTHORITY(self) -> str | None:
        return self._get("AUTHORITY") or None

    @property
    def OIDC_AUTHORITY(self) -> str | None:
        return self._get("OIDC_AUTHORITY") or None

    @property
    def INSTANCE_DISCOVERY(self) -> bool:
        return bool(self._get("INSTANCE_DISCOVERY"))

    @property
    def SCOPES(self) -> list[str]:
        return list(self._get("SCOPES") or [])

    @property
    def TOKEN_CACHE(self) -> str:
        return str(self._get("TOKEN_CACHE"))

    @property
    def REDIS_CACHE_ALIAS(self) -> str:
        """The django-redis cache holding tokens when ``REDIS_CLIENT`` is unset."""
        return str(self._get("REDIS_CACHE_ALIAS") or "default")

    @property
    def REDIS_CLIENT(self) -> str | None:
        """Dotted path of a callable returning a redis-py client (instead of the alias)."""
        return self._get("REDIS_CLIENT") or None

    @property
    def REDIS_CLIENT_OPTIONS(self) -> dict[str, Any]:
        """Keyword arguments ``REDIS_CLIENT`` is called with."""
        return dict(self._get("REDIS_CLIENT_OPTIONS") or {})

    @property
    def REDIS_KEY_PREFIX(self) -> str:
        """The keys' prefix with ``REDIS_CLIENT`` (the alias uses its cache's KEY_PREFIX)."""
        return str(self._get("REDIS_KEY_PREFIX"))

    @property
    def REDIS_WAIT_REPLICAS(self) -> int:
        """Replicas that must confirm a removal (and, best effort, a write) with ``WAIT``."""
        return int(self._get("REDIS_WAIT_REPLICAS"))

    @property
    def REDIS_WAIT_TIMEOUT(self) -> float:
        """Seconds ``WAIT`` waits for ``REDIS_WAIT_REPLICAS``."""
        return seconds(self._get("REDIS_WAIT_TIMEOUT"))

    @property
    def REDIS_TTL_MARGIN(self) -> int:
        """Seconds a Redis key outlives ``REFRESH_TOKEN_LIFETIME``; a ``timedelta`` too."""
        return int(seconds(self._get("REDIS_TTL_MARGIN")))

    @property
    def REDIS_PENDING_CHECK_INTERVAL(self) -> float:
        """Seconds between a process's checks for removals recorded while Redis was down."""
        return seconds(self._get("REDIS_PENDING_CHECK_INTERVAL"))

    @property
    def ENCRYPTION_KEYS(self) -> tuple[str | bytes, ...]:
        keys = self._get("ENCRYPTION_KEYS")
        if keys:
            return tuple(keys)
        # Derived from Django's own keys, so rotating SECRET_KEY (old one moved to
        # SECRET_KEY_FALLBACKS) rotates the token encryption keys without sign-outs.
        fallbacks = getattr(settings, "SECRET_KEY_FALLBACKS", [])
        return (settings.SECRET_KEY, *fallbacks)

    @property
    def HTTP_CLIENT(self) -> str | None:
        return self._get("HTTP_CLIENT") or None

    @property
    def TIMEOUT(self) -> float:
        """Seconds MSAL's own HTTP client waits for the provider (without HTTP_CLIENT)."""
        return seconds(self._get("TIMEOUT"))

    @property
    def REDIRECT_URI(self) -> str | None:
        return self._get("REDIRECT_URI") or None

    @property
    def POST_LOGOUT_REDIRECT_URI(self) -> str | None:
        return self._get("POST_LOGOUT_REDIRECT_URI") or None

    @property
    def PROVIDER_LOGOUT(self) -> bool:
        return bool(self._get("PROVIDER_LOGOUT"))

    @property
    def CREATE_USERS(self) -> bool:
        return bool(self._get("CREATE_USERS"))

    @property
    def UPDATE_USERS(self) -> bool:
        return bool(self._get("UPDATE_USERS"))

    @property
    def MAX_PENDING_SIGN_INS(self) -> int:
        return int(self._get("MAX_PENDING_SIGN_INS"))

    @property
    def REFRESH_RACE_GRACE(self) -> float:
        """Seconds to wait for a concurrent refresh before taking a refused refresh token
        for dead (providers that rotate refresh tokens strictly)."""
        return seconds(self._get("REFRESH_RACE_GRACE"))

    @property
    def REFRESH_TOKEN_LIFETIME(self) -> int:
        """Seconds; a ``timedelta`` is accepted too."""
        return int(seconds(self._get("REFRESH_TOKEN_LIFETIME")))

    @property
    def LOGOUT_TOKEN_MAX_AGE(self) -> int:
        """Seconds a back-channel logout token is accepted after its ``iat``."""
        return int(seconds(self._get("LOGOUT_TOKEN_MAX_AGE")))

    @property
    def CLOCK_SKEW(self) -> int:
        """Seconds of clock difference tolerated with the provider (``iat``, ``exp``)."""
        return int(seconds(self._get("CLOCK_SKEW")))

    # Protected APIs (msal_django.api, msal_django.drf, msal_django.downstream).

    @property
    def API_AUDIENCES(self) -> list[str]:
        """The ``aud`` values a bearer token for this site's API may carry; by default
        the client id and its Application ID URI ``api://<CLIENT_ID>``."""
        configured = self._get("API_AUDIENCES")
        if configured:
            return [str(audience) for audience in configured]
        client_id = self.CLIENT_ID
        return [client_id, f"api://{client_id}"] if client_id else []


msal_settings = Settings()
