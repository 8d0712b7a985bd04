"""Settings for the test suite. ``MSAL_DJANGO_TEST_DB=postgres`` runs it on PostgreSQL."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import django

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "tests-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "msal_django",
]
AUTHENTICATION_BACKENDS = [
    "msal_django.backends.MsalBackend",
    "django.contrib.auth.backends.ModelBackend",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "msal_django.middleware.InteractionRequiredMiddleware",
]
ROOT_URLCONF = "tests.urls"
LOGIN_URL = "msal_django:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

if os.environ.get("MSAL_DJANGO_TEST_DB", "sqlite") == "postgres":
    DATABASES: dict[str, dict[str, Any]] = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "NAME": os.environ.get("PGDATABASE", "test"),
            # One test database per run, so parallel runs on one server don't collide.
            "TEST": {"NAME": f"test_msal_django_{os.getpid()}"},
        }
    }
else:
    # A file, not :memory:, so the threads of the race tests share one database.
    _db = os.path.join(tempfile.gettempdir(), f"msal_django_tests_{os.getpid()}.sqlite3")
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _db,
            "TEST": {"NAME": _db},
            # IMMEDIATE: a transaction takes the write lock when it begins, so concurrent
            # writers wait (up to timeout) instead of failing with "database is locked"
            # when a transaction that has read tries to write (SQLite's deadlock case).
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }

# "replica" plays a read replica that lags forever: it gets no writes, and only the tests
# that ask for it (``databases=[..., "replica"]``) create it, under tests.routers.
_primary = DATABASES["default"]
if _primary["ENGINE"].endswith("sqlite3"):
    _replica_db = _db.replace(".sqlite3", "_replica.sqlite3")
    _replica_test = {"NAME": _replica_db}
else:
    _replica_db = _primary["NAME"]
    _replica_test = {"NAME": f"{_primary['TEST']['NAME']}_replica"}
DATABASES["replica"] = {**_primary, "NAME": _replica_db, "TEST": _replica_test}

# "redis" holds the Redis token store in the tests that run against both stores. The key
# prefix is per run (MSAL_DJANGO_TEST_REDIS_PREFIX lets a child process share it), so
# parallel runs on one Redis never see each other's keys.
REDIS_TEST_URL = os.environ.get("MSAL_DJANGO_TEST_REDIS", "redis://127.0.0.1:6379/0")
REDIS_TEST_PREFIX = os.environ.get(
    "MSAL_DJANGO_TEST_REDIS_PREFIX", f"msal-django-tests-{os.getpid()}-{os.urandom(4).hex()}"
)
REDIS_TEST_OPTIONS = {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1}
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "redis": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_TEST_URL,
        "KEY_PREFIX": REDIS_TEST_PREFIX,
        "OPTIONS": REDIS_TEST_OPTIONS,
    },
}

# Completed per test by the idp fixture (tests/conftest.py) with the local provider.
MSAL_DJANGO = {
    "CLIENT_ID": "msal-django-tests",
    "CLIENT_SECRET": "tests-client-secret-0123456789",
    "AUTHORITY": "https://localhost:9/00000000-0000-0000-0000-000000000000",
    "INSTANCE_DISCOVERY": False,
    "HTTP_CLIENT": "msal_django.testing.http_client",
    "SCOPES": ["User.Read"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"msal_django": {"level": "DEBUG"}, "msal": {"level": "DEBUG"}},
}

# Django 6.1 configures e-mail as MAILERS (the test run swaps each for the locmem backend);
# without it, sending the ADMINS e-mail warns that Django 2028 has no default mailer.
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
