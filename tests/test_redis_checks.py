"""System checks for the Redis token store: the cache alias, its backend, timeouts."""

from __future__ import annotations

import builtins

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from msal_django.checks import check_settings

REDIS = {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": "redis://127.0.0.1:6379/0",
    "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
}


@pytest.fixture
def redis_config(settings):
    settings.CACHES = {**settings.CACHES, "tokens": REDIS}
    settings.MSAL_DJANGO = {
        **settings.MSAL_DJANGO,
        "TOKEN_CACHE": "redis",
        "REDIS_CACHE_ALIAS": "tokens",
    }
    return settings


def ids():
    return [message.id for message in check_settings()]


def test_a_django_redis_cache_with_timeouts_has_no_messages(redis_config):
    assert check_settings() == []


def test_the_default_alias_is_checked(settings):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "TOKEN_CACHE": "redis"}
    settings.CACHES = {"default": REDIS}
    assert ids() == []


def test_database_store_ignores_caches(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert ids() == []


def test_alias_missing_from_caches(redis_config):
    redis_config.MSAL_DJANGO = {**redis_config.MSAL_DJANGO, "REDIS_CACHE_ALIAS": "nope"}
    messages = check_settings()
    assert [m.id for m in messages] == ["msal_django.E016"]
    assert "'nope'" in messages[0].msg
    assert "CACHES" in messages[0].hint


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
        "django.core.cache.backends.redis.RedisCache",  # Django's own: no raw client
        "no.such.Backend",
    ],
)
def test_alias_that_is_not_django_redis(redis_config, backend):
    redis_config.CACHES = {**redis_config.CACHES, "tokens": {"BACKEND": backend}}
    messages = check_settings()
    assert [m.id for m in messages] == ["msal_django.E017"]
    assert "django_redis.cache.RedisCache" in messages[0].hint


def test_django_redis_not_installed(redis_config, monkeypatch):
    real_import = builtins.__import__

    def without_django_redis(name, *args, **kwargs):
        if name.startswith("django_redis"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_django_redis)
    messages = check_settings()
    assert [m.id for m in messages] == ["msal_django.E015"]
    assert "pip install" in messages[0].hint


@pytest.mark.parametrize("name", ["REDIS_TTL_MARGIN", "REDIS_PENDING_CHECK_INTERVAL"])
@pytest.mark.parametrize("value", [-1, "1 day", None])
def test_bad_durations(redis_config, name, value):
    redis_config.MSAL_DJANGO = {**redis_config.MSAL_DJANGO, name: value}
    assert ids() == ["msal_django.E018"]


@pytest.mark.parametrize(
    "options",
    [{}, {"SOCKET_TIMEOUT": 1}, {"SOCKET_CONNECT_TIMEOUT": 1}],
)
def test_missing_socket_timeouts_warn(redis_config, options):
    redis_config.CACHES = {**redis_config.CACHES, "tokens": {**REDIS, "OPTIONS": options}}
    messages = check_settings()
    assert [m.id for m in messages] == ["msal_django.W002"]
    assert "SOCKET_TIMEOUT" in messages[0].hint
    assert "503" in messages[0].hint


def test_manage_py_check_reports_them(redis_config):
    redis_config.MSAL_DJANGO = {**redis_config.MSAL_DJANGO, "REDIS_CACHE_ALIAS": "nope"}
    with pytest.raises(SystemCheckError, match=r"msal_django\.E016"):
        call_command("check")


# -- REDIS_CLIENT: a redis-py client instead of a django-redis cache


CLIENT_OPTIONS = {"host": "127.0.0.1", "socket_connect_timeout": 1, "socket_timeout": 1}


@pytest.fixture
def client_config(settings):
    settings.MSAL_DJANGO = {
        **settings.MSAL_DJANGO,
        "TOKEN_CACHE": "redis",
        "REDIS_CLIENT": "redis.cluster.RedisCluster",
        "REDIS_CLIENT_OPTIONS": CLIENT_OPTIONS,
    }
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return settings


def with_config(settings, **values):
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, **values}


def test_a_redis_client_needs_no_django_redis_cache(client_config):
    assert check_settings() == []


def test_a_factory_of_ones_own_is_not_told_about_timeouts(client_config):
    with_config(
        client_config, REDIS_CLIENT="tests.redis_servers.free_port", REDIS_CLIENT_OPTIONS={}
    )
    assert ids() == []


def test_both_a_client_and_an_alias_is_an_error(client_config):
    with_config(client_config, REDIS_CACHE_ALIAS="default")
    messages = check_settings()
    assert [m.id for m in messages] == ["msal_django.E030"]
    assert "exactly one" in messages[0].hint


@pytest.mark.parametrize("path", ["no.such.factory", "redis.cluster", 42])
def test_a_client_path_that_is_not_a_callable(client_config, path):
    with_config(client_config, REDIS_CLIENT=path)
    assert ids() == ["msal_django.E031"]


def test_client_options_must_be_a_dict(client_config):
    with_config(client_config, REDIS_CLIENT_OPTIONS=["127.0.0.1"])
    assert ids() == ["msal_django.E032"]


@pytest.mark.parametrize(
    "option", [{"read_from_replicas": True}, {"load_balancing_strategy": "round-robin"}]
)
def test_client_options_reading_replicas_are_refused(client_config, option):
    with_config(client_config, REDIS_CLIENT_OPTIONS={**CLIENT_OPTIONS, **option})
    messages = check_settings()
    assert [m.id for m in messages] == ["msal_django.E033"]
    assert "logout" in messages[0].hint


@pytest.mark.parametrize("prefix", ["", "{tokens}", None])
def test_a_key_prefix_that_is_empty_or_a_hash_tag(client_config, prefix):
    with_config(client_config, REDIS_KEY_PREFIX=prefix)
    assert ids() == ["msal_django.E034"]


@pytest.mark.parametrize("replicas", [-1, "1", True, 1.5])
def test_bad_wait_replicas(client_config, replicas):
    with_config(client_config, REDIS_WAIT_REPLICAS=replicas)
    assert ids() == ["msal_django.E035"]


def test_bad_wait_timeout(client_config):
    with_config(client_config, REDIS_WAIT_TIMEOUT="1s")
    assert ids() == ["msal_django.E018"]


def test_client_options_without_socket_timeouts_warn(client_config):
    with_config(client_config, REDIS_CLIENT_OPTIONS={"host": "127.0.0.1"})
    messages = check_settings()
    assert [m.id for m in messages] == ["msal_django.W030"]
    assert "socket_timeout" in messages[0].hint


def test_client_settings_without_a_client_warn_that_they_are_ignored(redis_config):
    redis_config.MSAL_DJANGO = {**redis_config.MSAL_DJANGO, "REDIS_KEY_PREFIX": "tokens"}
    messages = check_settings()
    assert [m.id for m in messages] == ["msal_django.W031"]
    assert "KEY_PREFIX" in messages[0].hint
