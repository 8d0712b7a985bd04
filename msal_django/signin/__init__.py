"""Signing in: from the provider's redirect to a Django user with stored tokens.

In: a browser at ``login`` (``next``, extra ``scopes``, ``prompt``, ``claims``), then at
``callback`` with the provider's ``code`` and ``state``.
Out: a session signed in through ``MsalBackend``, the account's tokens in the store, and
the sign-in recorded for the provider's logouts (``msal_django.signout.session_index``).

- ``views``: ``login`` and ``callback``, the Django side of MSAL's auth code flow;
- ``redeem``: the code exchanged with MSAL, and the sign-in's tokens stored;
- ``authorization``: the tenant allow-list, app roles and groups (with Graph for
  overage) to Django groups and flags, the hooks ``MsalBackend`` inherits;
- ``identity_lookup``: the one read that finds a person's user (sign-in and web API).
"""
