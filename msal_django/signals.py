"""Signals msal_django sends.

``account_removed``
    Sent once per account, after its tokens are gone from the store, by every removal
    path. Arguments:

    - ``sender``: the store class that held the tokens;
    - ``home_account_id``: MSAL's id of the account (``oid.tid`` on Entra ID);
    - ``user``: the Django user it was linked to, or ``None``;
    - ``reason``: ``"logout"``, ``"frontchannel_logout"``, ``"backchannel_logout"``,
      ``"admin"``, ``"purge"``, ``"refresh_token_rejected"`` (the provider refused the
      refresh token, for example after the user's sessions were revoked),
      ``"provider_refused"`` (a session check or a claims challenge the provider would
      not satisfy) or ``"user_deleted"`` (the Django user was deleted).

    A receiver that raises is logged and neither undoes nor blocks the removal.

``signed_in``
    Sent after a sign-in through the provider stored its tokens and logged the user in
    (Django's ``user_logged_in`` has been sent). Arguments:

    - ``sender``: the view class that finished the sign-in (``CallbackView`` or yours);
    - ``request``: the callback's request, its session now the signed-in one;
    - ``user``: the Django user;
    - ``home_account_id``: MSAL's id of the account;
    - ``claims``: the ID token's claims (validated by MSAL).

    A receiver that raises is logged and the sign-in stands.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.dispatch import Signal

if TYPE_CHECKING:
    from typing import Any

    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest

logger = logging.getLogger("msal_django")

account_removed = Signal()
signed_in = Signal()


def send_account_removed(
    sender: type, home_account_id: str, *, user: AbstractBaseUser | None, reason: str
) -> None:
    """Send ``account_removed``; a receiver that raises is logged and the removal stands."""
    for receiver, response in account_removed.send_robust(
        sender=sender, home_account_id=home_account_id, user=user, reason=reason
    ):
        if isinstance(response, Exception):
            logger.error(
                "account_removed receiver %r raised %s; the removal stands.",
                receiver,
                type(response).__name__,
                exc_info=response,
            )


def send_signed_in(
    sender: type,
    request: HttpRequest,
    user: AbstractBaseUser,
    home_account_id: str,
    claims: dict[str, Any],
) -> None:
    """Send ``signed_in``; a receiver that raises is logged and the sign-in stands."""
    for receiver, response in signed_in.send_robust(
        sender=sender,
        request=request,
        user=user,
        home_account_id=home_account_id,
        claims=claims,
    ):
        if isinstance(response, Exception):
            logger.error(
                "signed_in receiver %r raised %s; the sign-in stands.",
                receiver,
                type(response).__name__,
                exc_info=response,
            )
