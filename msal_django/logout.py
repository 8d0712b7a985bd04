"""The one path that removes an account everywhere; every logout channel calls it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .signals import account_removed
from .stores import get_store

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest

logger = logging.getLogger("msal_django")

SESSION_ACCOUNT_KEY = "_msal_django_home_account_id"
SESSION_SID_KEY = "_msal_django_sid"


def remove_account(
    home_account_id: str, *, user: AbstractBaseUser | None = None, reason: str
) -> bool:
    """Remove the account and every token it holds, then send ``account_removed``.

    Returns whether the store held the account. The partition holds this one account
    only, so MSAL's ``remove_account`` on it and the partition's removal are one step;
    the removal is what makes any request still in flight unable to write it back.
    """
    store = get_store()
    removed = store.remove(home_account_id)
    if removed:
        logger.info("Removed the cached tokens of account %s (%s).", home_account_id, reason)
        for receiver, response in account_removed.send_robust(
            sender=type(store), home_account_id=home_account_id, user=user, reason=reason
        ):
            if isinstance(response, Exception):
                logger.error(
                    "account_removed receiver %r raised %s; the removal stands.",
                    receiver,
                    type(response).__name__,
                    exc_info=response,
                )
    return removed


def remove_accounts_of(
    user: AbstractBaseUser | None, request: HttpRequest | None, *, reason: str
) -> int:
    """Remove the session's account and every other account linked to ``user``."""
    accounts: list[str] = []
    session = getattr(request, "session", None)
    if session is not None and session.get(SESSION_ACCOUNT_KEY):
        accounts.append(session[SESSION_ACCOUNT_KEY])
    if user is not None and user.pk is not None:
        accounts += [a for a in get_store().accounts_of(user) if a not in accounts]
    return sum(remove_account(a, user=user, reason=reason) for a in accounts)


def on_user_logged_out(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser | None, **kwargs: Any
) -> None:
    """Django's ``user_logged_out``: any ``auth.logout()`` (the admin's too) removes tokens."""
    remove_accounts_of(user, request, reason="logout")
