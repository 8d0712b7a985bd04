"""The one path that removes an account everywhere; every logout channel calls it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .exceptions import StoreUnavailable
from .signals import account_removed
from .stores import DefersRemoval, get_store

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest

logger = logging.getLogger("msal_django")

SESSION_ACCOUNT_KEY = "_msal_django_home_account_id"
SESSION_SID_KEY = "_msal_django_sid"
# The account ``get_token`` found for a session that did not sign in through msal-django.
SESSION_LEARNED_ACCOUNT_KEY = "_msal_django_learned_account"


def remove_account(
    home_account_id: str, *, user: AbstractBaseUser | None = None, reason: str
) -> bool:
    """Remove the account and every token it holds, then send ``account_removed``.

    Returns whether the store held the account. The partition holds this one account
    only, so MSAL's ``remove_account`` on it and the partition's removal are one step;
    the removal is what makes any request still in flight unable to write it back.

    If the Redis store is unavailable, the removal is recorded in the database and this
    returns False once no host can read the tokens any more; they are removed, and
    ``account_removed`` sent, as soon as Redis answers again. (With the database store
    ``StoreUnavailable`` propagates: there is nowhere else to record it.)
    """
    store = get_store()
    _remove_on_behalf_of_tokens([home_account_id], reason)
    try:
        removed = store.remove(home_account_id)
    except StoreUnavailable:
        if not isinstance(store, DefersRemoval):
            raise
        store.defer_removal(home_account_id, reason)
        return False
    if removed:
        logger.info("Removed the cached tokens of account %s (%s).", home_account_id, reason)
        send_account_removed(type(store), home_account_id, user=user, reason=reason)
    return removed


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
        _remove_on_behalf_of_tokens(_caller_account_ids(user), reason)
    return sum(remove_account(a, user=user, reason=reason) for a in accounts)


# -- protected APIs: the tokens got on the user's behalf go with the user's accounts --


def _remove_on_behalf_of_tokens(caller_account_ids: list[str], reason: str) -> None:
    from .downstream import remove_on_behalf_of_tokens  # it imports the store layer

    remove_on_behalf_of_tokens(caller_account_ids, reason=reason)


def _caller_account_ids(user: AbstractBaseUser) -> list[str]:
    from .downstream import caller_account_ids

    return caller_account_ids(user)


# -- end of protected APIs --


def on_user_deleted(sender: Any, instance: AbstractBaseUser, **kwargs: Any) -> None:
    """``pre_delete`` of the user model: remove the user's accounts from the store."""
    remove_accounts_of(instance, None, reason="user_deleted")


def on_user_logged_out(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser | None, **kwargs: Any
) -> None:
    """Django's ``user_logged_out``: any ``auth.logout()`` (the admin's too) removes tokens."""
    remove_accounts_of(user, request, reason="logout")
