"""The example site: SQLite, the database token cache, the local identity provider.

``run.py`` starts the provider and sets MSAL_DJANGO_AUTHORITY; to use real Entra ID
instead, set the four MSAL_DJANGO_* variables below and drop HTTP_CLIENT.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-insecure-key-change-me-0123456789")
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "msal_django",
    "example",
]
AUTHENTICATION_BACKENDS = [
    "msal_django.backends.MsalBackend",
    "django.contrib.auth.backends.ModelBackend",  # the admin's local superuser
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
    # Asks the provider whether a signed-in account still stands (disabled, revoked).
    "msal_django.middleware.SessionCheckMiddleware",
]
ROOT_URLCONF = "example.urls"
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
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
STATIC_URL = "static/"
USE_TZ = True

# MSAL_DJANGO_TOKEN_CACHE=redis keeps the tokens in Redis (MSAL_DJANGO_REDIS_URL, by
# default the local one) through this django-redis cache instead of the database.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if os.environ.get("MSAL_DJANGO_TOKEN_CACHE") == "redis":
    CACHES["tokens"] = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": os.environ.get("MSAL_DJANGO_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "KEY_PREFIX": "msal-django-example",
        # Bounded, so a Redis that stops answering gives a 503 page, not a hung worker.
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    }

MSAL_DJANGO = {
    "CLIENT_ID": os.environ.get("MSAL_DJANGO_CLIENT_ID", "msal-django-example"),
    # run.py sets it; the default is the local provider's own tenant on its default port,
    # so `manage.py example_job alice@example.com` in another terminal finds the same
    # provider (and trusts its CA, below).
    "AUTHORITY": os.environ.get(
        "MSAL_DJANGO_AUTHORITY", "https://localhost:8443/7d4b3a2e-58c4-4b44-9f0e-3d1c6a5b8e90"
    ),
    "INSTANCE_DISCOVERY": False,  # the local provider is not known to Microsoft
    "SCOPES": os.environ.get("MSAL_DJANGO_SCOPES", "User.Read").split(),
    "TOKEN_CACHE": os.environ.get("MSAL_DJANGO_TOKEN_CACHE", "database"),
    "REDIS_CACHE_ALIAS": "tokens",
    "HTTP_CLIENT": os.environ.get("MSAL_DJANGO_HTTP_CLIENT", "msal_django.testing.http_client"),
    # The app role Reports.Reader (an app registration's "App roles") grants a Django group;
    # the reports page is for that group only.
    "GROUP_MAP": {"Reports.Reader": "report readers"},
    # So the demo shows it: disable alice at the provider, and her next page after 10
    # seconds signs her out (the default, 900, suits a real site).
    "SESSION_CHECK_INTERVAL": int(os.environ.get("MSAL_DJANGO_SESSION_CHECK_INTERVAL", "10")),
}
# The app's credential (docs: Credentials). MSAL_DJANGO_CREDENTIAL=certificate or
# federated: no secret anywhere; run.py registers the certificate, or writes (and
# renews) the workload identity token that Kubernetes would project, in .state/credential/.
CREDENTIAL = os.environ.get("MSAL_DJANGO_CREDENTIAL", "secret")
CREDENTIAL_DIR = BASE_DIR / ".state" / "credential"
if CREDENTIAL == "certificate":
    MSAL_DJANGO["CLIENT_CERTIFICATE"] = {
        "private_key_path": str(CREDENTIAL_DIR / "key.pem"),
        "certificate_path": str(CREDENTIAL_DIR / "cert.pem"),
    }
elif CREDENTIAL == "federated":
    MSAL_DJANGO["CLIENT_ASSERTION_FILE"] = str(CREDENTIAL_DIR / "azure-identity-token")
else:
    MSAL_DJANGO["CLIENT_SECRET"] = os.environ.get("MSAL_DJANGO_CLIENT_SECRET", "example-secret")
# run.py's local provider keeps its CA in .state/: a job in another process
# (manage.py example_job) trusts the same one.
os.environ.setdefault("MSAL_DJANGO_TESTING_CA_FILE", str(BASE_DIR / ".state" / "ca.pem"))
# The API the profile page calls: Microsoft Graph's /me, or the local provider's copy.
API_URL = os.environ.get("EXAMPLE_API_URL", "https://localhost:8443/v1.0/me")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,  # keep Django's request log and tracebacks
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"msal_django": {"handlers": ["console"], "level": "INFO"}},
}
