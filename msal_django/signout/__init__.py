"""Signing out: every way an account's presence on this site ends.

In, each way calling ``removal.remove_account`` / ``removal.remove_accounts_of``:

- this site's logout (``views.logout``, and any ``auth.logout()``: Django's
  ``user_logged_out``, received in ``removal.on_user_logged_out``);
- the provider's front-channel logout (``channels.frontchannel_logout``: the ``sid``
  found through ``session_index``);
- the provider's back-channel logout (``channels.backchannel_logout``: a
  ``logout_token`` checked, then ``session_index``);
- a refresh token the provider refused (``msal_django.tokens``);
- an admin's revoke (``msal_django.admin``), ``manage.py msal_purge`` (``purge``), a
  deleted user (``removal.on_user_deleted``).

Out: the account's partition and its callers' on-behalf-of partitions gone from the
store (no host can read them), the process's remembered tokens forgotten, and
``account_removed`` sent; the provider's logouts also end the Django sessions signed in
with the ``sid`` they name.
"""
