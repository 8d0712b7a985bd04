"""The ``MSAL_DJANGO`` settings dict, each key declared once, read in one place.

Each key is a ``Setting`` on ``Settings``: its default, how it is read, its help (its
only description: the settings reference and README's table are generated from it; run
``python docs/_ext/settings_reference.py`` after editing one) and, for a duration, its
system check. Every read goes to ``django.conf.settings`` afresh; what is built from the
settings registers its reset with ``resets_on_change``, called on ``setting_changed``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from msal_django.conf import credentials
from msal_django.conf.setting import (
    SETTINGS_READ,
    Setting,
    configured,
    resets_on_change,
    seconds,
    setting_changed,
)

__all__ = [
    "DEFAULTS",
    "SETTINGS",
    "SETTINGS_READ",
    "TOKEN_CACHES",
    "Setting",
    "Settings",
    "configured",
    "msal_settings",
    "resets_on_change",
    "seconds",
    "setting_changed",
]

TOKEN_CACHES = ("database", "redis")


def _text(value: Any) -> str:
    return str(value or "")


def _optional(value: Any) -> Any:
    return value or None


def _whole_seconds(value: Any) -> int:
    return int(seconds(value))


def _audiences(value: Any) -> list[str]:
    client_id = str(configured("CLIENT_ID") or "")
    default = [client_id, f"api://{client_id}"] if client_id else []
    return [str(audience) for audience in value] if value else default


def _encryption_keys(value: Any) -> tuple[str | bytes, ...]:
    if value:
        return tuple(value)
    # Derived from Django's keys: rotating SECRET_KEY rotates them, without sign-outs.
    fallbacks = getattr(settings, "SECRET_KEY_FALLBACKS", [])
    return (settings.SECRET_KEY, *fallbacks)


class Settings:
    """Typed access to ``settings.MSAL_DJANGO``: one ``Setting`` per key, in docs order."""

    CLIENT_ID = Setting(
        None,
        _text,
        "The *Application (client) ID* of your app registration (:doc:`/entra`).",
        default_text="required",
    )
    # The app's credential: exactly one (conf/credentials.py).
    CLIENT_SECRET = credentials.CLIENT_SECRET
    CLIENT_CREDENTIAL = credentials.CLIENT_CREDENTIAL
    CLIENT_CERTIFICATE = credentials.CLIENT_CERTIFICATE
    CLIENT_ASSERTION = credentials.CLIENT_ASSERTION
    CLIENT_ASSERTION_FILE = credentials.CLIENT_ASSERTION_FILE
    MANAGED_IDENTITY = credentials.MANAGED_IDENTITY
    AUTHORITY: Setting[str | None] = Setting(
        None,
        _optional,
        "An Entra ID authority: ``https://login.microsoftonline.com/<tenant-id>`` for one "
        "organisation, ``.../organizations`` or ``.../common`` for several (then see "
        ":setting:`ALLOWED_TENANTS`), or a B2C or External ID (CIAM) authority. Set exactly "
        "one of ``AUTHORITY`` and :setting:`OIDC_AUTHORITY` (:check:`msal_django.E004`); it "
        "must be an ``https`` URL (:check:`msal_django.E005`).",
        default_text="required, or :setting:`OIDC_AUTHORITY`",
    )
    OIDC_AUTHORITY: Setting[str | None] = Setting(
        None,
        _optional,
        "Instead of :setting:`AUTHORITY`: the issuer URL of any other OpenID Connect provider "
        "(Keycloak, Auth0, Okta...), passed to MSAL as ``oidc_authority``. MSAL reads "
        "``<OIDC_AUTHORITY>/.well-known/openid-configuration``.",
        default_text="required, or :setting:`AUTHORITY`",
    )
    INSTANCE_DISCOVERY = Setting(
        True,
        bool,
        "MSAL's instance discovery against Microsoft. Set it to ``False`` for authorities "
        "Microsoft does not know: the :doc:`local provider </topics/testing>`, private "
        "clouds.",
    )
    SCOPES: Setting[list[str]] = Setting(
        [],
        lambda value: list(value or []),
        'Scopes asked for at sign-in, such as ``["User.Read"]``. MSAL adds ``openid``, '
        "``profile`` and ``offline_access`` itself and refuses them here "
        "(:check:`msal_django.E007`). :func:`msal_django.get_token` can ask for more later.",
    )
    TOKEN_CACHE = Setting(
        "database",
        str,
        'Where token caches live: ``"database"`` (the ``CachedAccount`` model on your '
        'database), ``"redis"`` (a django-redis cache, or :setting:`REDIS_CLIENT`), or the '
        "dotted path of your own ``msal_django.stores.TokenStore`` subclass "
        "(:doc:`/topics/extending`; :check:`msal_django.E008`). See :doc:`/topics/stores`.",
    )
    REDIS_CACHE_ALIAS = Setting(
        None,  # unset, so that a check can tell it from an explicit "default"
        lambda value: str(value or "default"),
        "The ``CACHES`` alias of the django-redis cache that holds tokens when "
        ':setting:`TOKEN_CACHE` is ``"redis"``. Set it or :setting:`REDIS_CLIENT`, not both '
        "(:check:`msal_django.E030`). Checked by :check:`msal_django.E016` and "
        ":check:`msal_django.E017`.",
        default_text='``"default"`` (unless :setting:`REDIS_CLIENT` is set)',
    )
    REDIS_CLIENT: Setting[str | None] = Setting(
        None,
        _optional,
        "Instead of a django-redis cache: the dotted path of a callable returning a redis-py "
        'client (``"redis.Redis"``, ``"redis.cluster.RedisCluster"``, a factory of yours '
        "returning a Sentinel master or a managed cluster's client). It is called once per "
        "settings change, with :setting:`REDIS_CLIENT_OPTIONS` (:check:`msal_django.E031`). "
        "See :doc:`/topics/stores`.",
    )
    REDIS_CLIENT_OPTIONS: Setting[dict[str, Any]] = Setting(
        {},
        lambda value: dict(value or {}),
        "Keyword arguments :setting:`REDIS_CLIENT` is called with (``host``, ``port``, "
        "``ssl``, ``password``, ``socket_timeout``...; :check:`msal_django.E032`). Replica "
        "reads (``read_from_replicas``, ``load_balancing_strategy``) are refused "
        "(:check:`msal_django.E033`).",
    )
    REDIS_KEY_PREFIX = Setting(
        "msal_django",
        str,
        "With :setting:`REDIS_CLIENT`, keys are ``<REDIS_KEY_PREFIX>:<client id>:"
        "<home_account_id>`` (the alias uses its cache's ``KEY_PREFIX``). No braces "
        "(:check:`msal_django.E034`): a hash tag would put every account on one cluster node.",
    )
    REDIS_WAIT_REPLICAS = Setting(
        0,
        int,
        "Replicas that must confirm a removal (and, best effort, a write) with ``WAIT`` "
        "(``1`` on a cluster or Sentinel with one replica per primary): a logout they do not "
        "confirm is recorded and applied again until they do, so a failover cannot bring "
        "tokens back (:check:`msal_django.E035`).",
    )
    REDIS_WAIT_TIMEOUT = Setting(
        0.5,
        seconds,
        "Seconds ``WAIT`` waits for :setting:`REDIS_WAIT_REPLICAS`; never more than half the "
        "Redis client's socket timeout (``SOCKET_TIMEOUT``, ``socket_timeout``), since a "
        "longer ``WAIT`` would time the connection out and fail the request.",
        check="msal_django.E018",
    )
    REDIS_TTL_MARGIN = Setting(
        24 * 3600,
        _whole_seconds,
        "Seconds a Redis key outlives :setting:`REFRESH_TOKEN_LIFETIME`: each write sets the "
        "key's time to live to their sum, so the keys of abandoned accounts leave Redis on "
        "their own.",
        check="msal_django.E018",
    )
    REDIS_PENDING_CHECK_INTERVAL = Setting(
        1.0,
        seconds,
        "A logout made while Redis is unavailable is recorded in the database; every process "
        "looks at those records at least this often (seconds) before it reads Redis, and "
        "such a logout waits this long before it returns. See "
        ":ref:`when Redis is down <stores-redis-outage>`.",
        check="msal_django.E018",
    )
    ENCRYPTION_KEYS = Setting(
        None,
        _encryption_keys,
        "Secrets (32 characters or more, :check:`msal_django.E009`) from which the token "
        "encryption keys are derived, newest first: the first encrypts, all of them decrypt, "
        "and data is re-encrypted with the first on its next write. By default "
        "``[SECRET_KEY, *SECRET_KEY_FALLBACKS]``, so rotating Django's key the documented way "
        "(old key moved to ``SECRET_KEY_FALLBACKS``) rotates these without signing anyone "
        "out.",
        default_text="derived from ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``",
    )
    ACCESS_TOKENS_IN_MEMORY = Setting(
        1000,
        int,
        "How many accounts' access tokens each process keeps in memory between requests "
        "(least recently used dropped first; the on-behalf-of tokens of one caller of your "
        "API count as one account), so that a cache hit of ``get_token`` or "
        "``get_token_on_behalf_of`` reads only the partition's version from the store "
        "instead of loading and decrypting it. ``0`` keeps none; a whole number >= 0 "
        "(:check:`msal_django.E024`). A logout or rewrite anywhere still takes effect on the "
        "next call, on any host: see :ref:`tokens in memory <tokens-in-memory>`.",
    )
    SERVE_FROM_MEMORY = Setting(
        True,
        bool,
        "On PostgreSQL and Redis, serve a remembered access token with no read at all while "
        "this process has proof, less than :setting:`INVALIDATION_WINDOW` old, that it has "
        "seen every change of the token store: a thread per process watches the store's "
        "pushed changes (``LISTEN``/``NOTIFY``, Redis ``CLIENT TRACKING``). Without proof "
        "(a disconnect, a failover, SQLite) a hit reads the version as it does with "
        "``False``. Every host that removes accounts must have the same value: with "
        "``True`` each removal waits :setting:`INVALIDATION_WINDOW`. See "
        ":ref:`hits with no read <hits-without-read>`.",
    )
    INVALIDATION_WINDOW = Setting(
        0.05,
        seconds,
        "L, in seconds: how old this process's newest proof may be for a remembered token "
        "to be served with no read (:setting:`SERVE_FROM_MEMORY`), and how long every "
        "removal of an account (each logout, a purge) waits after its delete before it "
        "returns, so no call that starts afterwards, on any host, is served its tokens. "
        "Between 0.005 and 5 (:check:`msal_django.E028`); the watch proves itself every L/2.",
    )
    HTTP_CLIENT: Setting[str | None] = Setting(
        None,
        _optional,
        "The dotted path of a callable returning the ``requests.Session``-like object MSAL "
        "uses to talk to the provider: proxies, a private CA, extra headers "
        "(:check:`msal_django.E010`). It is called once per thread. "
        '``"msal_django.testing.http_client"`` trusts the '
        ":doc:`local provider </topics/testing>`.",
        default_text="``None`` (MSAL's own ``requests.Session``)",
    )
    TIMEOUT = Setting(
        10,
        seconds,
        "Seconds each request to the provider may take, through MSAL's own HTTP client or the "
        ":setting:`HTTP_CLIENT` session (unless the caller passes its own timeout): a "
        "provider that stops answering gives a 503 page, not a hung worker.",
        check="msal_django.E022",
    )
    REDIRECT_URI: Setting[str | None] = Setting(
        None,
        _optional,
        "The absolute URL of the ``msal_django:callback`` view, when it cannot be built from "
        "the request (behind a proxy that does not pass the scheme or host; "
        ":check:`msal_django.E011`). It must be registered in the app registration exactly.",
        default_text="``None`` (built from the request)",
    )
    POST_LOGOUT_REDIRECT_URI: Setting[str | None] = Setting(
        None,
        _optional,
        "Where the provider sends the browser after its own sign-out "
        "(:check:`msal_django.E011`). Register it in the app registration.",
        default_text="``None`` (Django's ``LOGOUT_REDIRECT_URL``, or ``/``, made absolute)",
    )
    PROVIDER_LOGOUT = Setting(
        True,
        bool,
        "After signing out here, send the browser on to the provider's end-session endpoint, "
        "which signs the person out there too (and, with Entra ID, of the other apps that use "
        "front-channel logout). ``False`` signs out of this site only.",
    )
    CREATE_USERS = Setting(
        True,
        bool,
        "Create a Django user on someone's first sign-in (and on a first call of your API "
        "with a delegated token). ``False`` admits only people whose identity is already "
        "linked to a user (``UserIdentity``); anyone else gets a 403 page.",
    )
    UPDATE_USERS = Setting(
        True,
        bool,
        "Copy name and email from the ID token onto the Django user at each sign-in. "
        "``False`` keeps local edits.",
    )
    MAX_PENDING_SIGN_INS = Setting(
        5,
        int,
        "Sign-ins started but not finished kept per session (several tabs signing in at "
        "once). Each is single-use; the oldest is dropped first.",
    )
    REFRESH_TOKEN_LIFETIME = Setting(
        90 * 24 * 3600,
        _whole_seconds,
        "How long a refresh token lives unused (Entra ID's default is 90 days). MSAL does not "
        'record it, so the admin\'s "refresh token expires" column, ``msal_purge --expired`` '
        "and the Redis key's time to live count it from the account's last write.",
        check="msal_django.E022",
    )
    REFRESH_RACE_GRACE = Setting(
        1.0,
        seconds,
        "When the provider refuses a refresh token, how long to wait for a concurrent "
        "request's newer tokens before taking the account's tokens for revoked and removing "
        "them. It matters for providers that rotate refresh tokens strictly; Entra ID does "
        "not.",
        check="msal_django.E022",
    )
    LOGOUT_TOKEN_MAX_AGE = Setting(
        300,
        _whole_seconds,
        "A back-channel ``logout_token`` older than this (by its ``iat``) is refused.",
        check="msal_django.E021",
    )
    CLOCK_SKEW = Setting(
        60,
        _whole_seconds,
        "Tolerated difference between your clock and the provider's, applied to the ``iat`` "
        "and ``exp`` of back-channel logout tokens, and to the ``exp`` and ``nbf`` of the "
        "access tokens your API is called with.",
        check="msal_django.E021",
    )

    # -- sign-out that follows the account (msal_django.signout.session_check) --
    SESSION_CHECK_INTERVAL: Setting[float | None] = Setting(
        900,
        lambda value: None if value is None else seconds(value),
        "At most this often (seconds, or a ``timedelta``) per account, across all processes "
        "and hosts, a request of a signed-in session asks the provider whether the account "
        "still stands (a refresh-token redemption), through "
        "``msal_django.middleware.SessionCheckMiddleware``. Refused (the user disabled, "
        "their sessions revoked, their password reset): the account's tokens are removed and "
        "every session signed in with it ends. The provider unreachable: nothing ends. "
        "``None`` turns the check off; a positive number otherwise "
        "(:check:`msal_django.E025`). See :doc:`/topics/account-events`.",
    )
    CLIENT_CAPABILITIES: Setting[list[str]] = Setting(
        [],
        lambda value: list(value or []),
        'MSAL\'s ``client_capabilities``: ``["cp1"]`` declares Continuous Access '
        "Evaluation, for longer-lived access tokens that CAE-enabled APIs (Microsoft Graph) "
        "revoke with a claims challenge; pass the challenge to "
        ":func:`~msal_django.get_token` (``claims_challenge=``). A list of strings "
        "(:check:`msal_django.E026`). See :doc:`/topics/account-events`.",
    )

    # -- authorization from the identity provider (msal_django.signin.authorization) --
    ROLE_CLAIMS: Setting[list[str]] = Setting(
        ["roles", "groups"],
        lambda value: list(value or []),
        "ID-token claims whose values (app roles, group object ids) are mapped to groups "
        "and flags at each sign-in (:doc:`/topics/authorization`).",
    )
    GROUP_MAP: Setting[dict[str, str]] = Setting(
        {},
        lambda value: dict(value or {}),
        "Claim value (an app role, a group object id) -> the Django group it grants (created "
        "if missing). The user's groups from the provider are set to exactly these at each "
        "sign-in; groups granted by hand stay.",
    )
    MIRROR_GROUPS = Setting(
        False,
        bool,
        "Also grant a Django group named after each claim value :setting:`GROUP_MAP` leaves "
        "unmapped (created if missing).",
    )
    FLAG_MAP: Setting[dict[str, list[str]]] = Setting(
        {},
        lambda value: {flag: list(values) for flag, values in (value or {}).items()},
        "User flag -> the claim values that set it: "
        '``{"is_staff": [values], "is_superuser": [values]}``. A flag named here is set '
        "at sign-in when one of its values is present and cleared when none is; flags not "
        "named are left alone.",
    )
    ALLOWED_TENANTS: Setting[frozenset[str] | None] = Setting(
        None,
        lambda value: None if value is None else frozenset(str(t).lower() for t in value),
        "Tenant ids (``tid``) that may sign in (compared lower-cased); any other gets a 403 "
        "page and nothing is stored. A multi-tenant authority (``organizations``, "
        "``common``) without it: :check:`msal_django.W040`.",
        default_text="``None`` (any tenant the authority admits)",
    )
    GRAPH_URL = Setting(
        "https://graph.microsoft.com/v1.0",
        lambda value: str(value).rstrip("/"),
        "Microsoft Graph's base URL, where Entra's group overage is read "
        "(``/me/transitiveMemberOf``, every page; :check:`msal_django.E041`); the token's "
        "``_claim_sources`` is never used.",
    )
    GRAPH_SCOPES: Setting[list[str]] = Setting(
        ["GroupMember.Read.All"],
        lambda value: list(value or []),
        "Scopes of the user's token for reading their group memberships on overage "
        "(``GroupMember.Read.All``, or ``Directory.Read.All``; admin consent needed).",
    )
    KEEP_GROUPS_ON_GRAPH_ERROR = Setting(
        False,
        bool,
        "When group overage cannot be read from Graph (down or refusing), sign the user in "
        "with the groups and flags of their last sign-in, instead of refusing the sign-in "
        "(403 or 503).",
    )

    # -- protected APIs (msal_django.webapi) --
    API_AUDIENCES: Setting[list[str]] = Setting(
        None,
        _audiences,
        "The ``aud`` values an access token for your API may carry (``require_token``, "
        "``msal_django.drf``; :doc:`/topics/api`). By default your client id and "
        "``api://<CLIENT_ID>``, the Application ID URI Entra suggests; list yours if you "
        "chose another.",
        default_text='``None`` (``[CLIENT_ID, "api://<CLIENT_ID>"]``)',
    )


SETTINGS: dict[str, Setting[Any]] = {
    name: value for name, value in vars(Settings).items() if isinstance(value, Setting)
}
DEFAULTS: dict[str, Any] = {name: setting.default for name, setting in SETTINGS.items()}

msal_settings = Settings()
