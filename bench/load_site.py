"""The settings of the site bench/load.py serves with gunicorn (pages: load_urls.py).

Configured by environment variables set by bench/load.py: ``LOAD_DB`` (``sqlite`` path or
``postgres`` database name), ``LOAD_STORE`` (``database`` or ``redis``), ``LOAD_AUTHORITY``,
``LOAD_REDIS_URL``, ``LOAD_REDIS_PREFIX``, ``LOAD_MEMORY`` (``ACCESS_TOKENS_IN_MEMORY``) and
``LOAD_SERVE_FROM_MEMORY`` (``SERVE_FROM_MEMORY``, ``0`` or ``1``).
"""

from __future__ import annotations

import os

SECRET_KEY = "load-bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.load_urls"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "msal_django",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "msal_django.middleware.InteractionRequiredMiddleware",
]
AUTHENTICATION_BACKENDS = ["msal_django.backends.MsalBackend"]
LOGIN_URL = "msal_django:login"
USE_TZ = True
_db = os.environ.get("LOAD_DB", "sqlite:/tmp/msal-django-load.sqlite3")
if _db.startswith("postgres:"):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": "127.0.0.1",
            "USER": "postgres",
            "NAME": _db.partition(":")[2],
            "CONN_MAX_AGE": None,  # kept-open connections, as a production site has
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _db.partition(":")[2],
            "CONN_MAX_AGE": None,
        }
    }
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "tokens": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/13"),
        "KEY_PREFIX": os.environ.get("LOAD_REDIS_PREFIX", "msal-django-load"),
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    },
}
MSAL_DJANGO = {
    "CLIENT_ID": "msal-django-load",
    "CLIENT_SECRET": "load-client-secret-0123456789",
    "AUTHORITY": os.environ.get("LOAD_AUTHORITY", ""),
    "INSTANCE_DISCOVERY": False,
    "HTTP_CLIENT": "msal_django.testing.http_client",
    "SCOPES": ["User.Read"],
    "TOKEN_CACHE": os.environ.get("LOAD_STORE", "database"),
    "REDIS_CACHE_ALIAS": "tokens",
    "ACCESS_TOKENS_IN_MEMORY": int(os.environ.get("LOAD_MEMORY", "1000")),
    "SERVE_FROM_MEMORY": os.environ.get("LOAD_SERVE_FROM_MEMORY", "1") == "1",
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
