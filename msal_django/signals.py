"""Signals msal_django sends.

``account_removed``
    Sent once per account, after its tokens are gone from the store, by every removal
    path. Arguments:

    - ``sender``: the store class that held the tokens;
    - ``home_account_id``: MSAL's id of the account (``oid.tid`` on Entra ID);
    - ``user``: the Django user it was linked to, or ``None``;
    - ``reason``: ``"logout"``, ``"frontchannel_logout"``, ``"backchannel_logout"``,
      ``"admin"``, ``"purge"``, ``"refresh_token_rejected"`` (the provider refused the
      refresh token, for example after the user's sessions were revoked) or
      ``"user_deleted"`` (the Django user was deleted).

    A receiver that raises is logged and neither undoes nor blocks the removal.
"""

from __future__ import annotations

from django.dispatch import Signal

account_removed = Signal()
