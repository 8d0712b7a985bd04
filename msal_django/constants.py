"""Names and bounds shared across the package: session keys, reserved scopes, limits."""

from __future__ import annotations

# What msal-django keeps in the Django session.
SESSION_ACCOUNT_KEY = "_msal_django_home_account_id"  # the account this session signed in to
SESSION_SID_KEY = "_msal_django_sid"  # the provider's session id (sid claim) of that sign-in
SESSION_LOGIN_HINT_KEY = "_msal_django_login_hint"  # Entra's login_hint claim, for logout_hint
# The account ``get_token`` found for a session that did not sign in through msal-django.
SESSION_LEARNED_ACCOUNT_KEY = "_msal_django_learned_account"
FLOWS_KEY = "_msal_django_flows"  # the pending sign-ins (MSAL's flows) by state

# MSAL adds these itself and refuses them in the scopes it is given.
RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})

# Bounds on what a sign-in link may ask for, checked before anything is stored.
MAX_SCOPES = 50
MAX_SCOPES_LENGTH = 2048
MAX_CLAIMS_LENGTH = 4096
MAX_NEXT_LENGTH = 2048  # a longer next is ignored, like one that leaves the site
MAX_LOGIN_HINT_LENGTH = 1024

# Bounds on a back-channel logout request.
MAX_LOGOUT_TOKEN_LENGTH = 16 * 1024
MAX_LOGOUT_BODY = MAX_LOGOUT_TOKEN_LENGTH + 1024
