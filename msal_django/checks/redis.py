"""Checks of the Redis store's settings: a django-redis alias or ``REDIS_CLIENT``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.utils.module_loading import import_string

from msal_django.checks.common import check_callable, check_durations, check_timeouts


def check_redis(config: dict[str, Any], configured: dict[str, Any]) -> list[CheckMessage]:
    if config["TOKEN_CACHE"] != "redis":
        return []
    errors = check_durations(config, "msal_django.E018")
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
    factory, unusable = check_callable(
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
        errors += check_timeouts(where, options, names, "msal_django.W030")
    return errors


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
    return check_timeouts(where, cache.get("OPTIONS") or {}, names, "msal_django.W002")
