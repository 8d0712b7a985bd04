"""The local provider's defaults: its tenant, how long what it issues lives, and the
example app registration and users that ``python -m msal_django.testing`` and the
pytest plugin set up (see ``add_defaults`` in ``provider.py``)."""

from __future__ import annotations

DEFAULT_TENANT_ID = "7d4b3a2e-58c4-4b44-9f0e-3d1c6a5b8e90"

# Lifetimes, in seconds. The first two are per provider and restored by reset().
DEFAULT_ACCESS_TOKEN_LIFETIME = 3600
DEFAULT_REFRESH_TOKEN_LIFETIME = 86400
CODE_LIFETIME = 600
ID_TOKEN_LIFETIME = 3600
LOGOUT_TOKEN_LIFETIME = 120
PENDING_SIGN_IN_LIFETIME = 600
MAX_PENDING_SIGN_INS = 1000

DEFAULT_CLIENT_ID = "msal-django-example"
DEFAULT_CLIENT_SECRET = "example-secret"
DEFAULT_REDIRECT_URIS = (
    "http://127.0.0.1:8000/auth/callback/",
    "http://localhost:8000/auth/callback/",
)
DEFAULT_POST_LOGOUT_REDIRECT_URIS = ("http://127.0.0.1:8000/", "http://localhost:8000/")
DEFAULT_USERS = (("alice", "Alice Example"), ("bob", "Bob Example"))
