"""The site as a web API, and the tokens it gets for the APIs it calls.

In: a request with ``Authorization: Bearer <access token>``.
Out: ``request.user`` (the caller's linked user, or an ``AppCaller``) and
``request.msal_claims``, or an RFC 6750 refusal; tokens for downstream APIs.

- ``bearer``: validation of the access token (signature, issuer, audience, lifetime,
  the claims that name someone) and what it authorizes;
- ``require``: the ``require_token`` decorator (public as ``msal_django.api``);
- ``drf``: DRF's authentication and permission classes (public as ``msal_django.drf``);
- ``downstream``: ``get_token_on_behalf_of`` and ``get_app_token``, cached in the store.
"""
