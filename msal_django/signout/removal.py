"""Removing accounts: the one path that removes an account's tokens everywhere, ends the
Django sessions signed in with it, and sends ``account_removed``. Every way in calls
``remove_account`` (``msal_django.signout`` lists them); the provider's logouts first find
the accounts their ``sid`` or ``sub`` names (``end_sessions``)."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from msal_django.conf import msal_settings
from msal_django.constants import SESSION_ACCOUNT_KEY
from msal_django.signals import send_account_removed
from msal_django.signout import session_index
from msal_django.stores import get_store, token_memory
from msal_django.stores.watch import settling

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest

logger = logging.getLogger("msal_django")


@dataclass(frozen=True, slots=True)
class EndedSessions:
    """What a logout ended: Django sessions, and accounts whose tokens were removed."""

    sessions: int
    accounts: int


def remove_account(
    home_account_id: str, *, user: AbstractBaseUser | None = None, reason: str
) -> bool:
    """Remove the account and every token it holds, end every Django session signed in
    with it (its next request is anonymous: a page sends it to sign in, a ``fetch()``
    gets a 401), then send ``account_removed``.

    Returns whether the store held the account. The partition holds this one account
    only, so MSAL's ``remove_account`` on it and the partition's removal are one step;
    the removal is what makes any request still in flight unable to write it back.

    If the Redis store is unavailable, the removal is recorded in the database and this
    returns False once no host can read the tokens any more; they are removed, and
    ``account_removed`` sent, as soon as Redis answers again. (With the database store
    ``StoreUnavailable`` propagates before any session ends: a retry finds them again.)
    """
    store = get_store()
    with settling():  # returns once no process serves these tokens from memory
        remove_on_behalf_of_tokens([home_account_id], reason=reason)
        token_memory.forget(home_account_id)  # other processes: their watch or a read
        removed = store.remove_or_defer(home_account_id, reason)
    ended = session_index.end(session_index.find(home_account_id=home_account_id))
    if removed or ended:
        logger.info(
            "Removed the cached tokens of account %s and ended %d session(s) (%s).",
            home_account_id,
            ended,
            reason,
        )
    if removed:
        send_account_removed(type(store), home_account_id, user=user, reason=reason)
    return removed


def end_sessions(
    *,
    reason: str,
    sid: str | None = None,
    subject: str | None = None,
    issuer: str | None = None,
    session_key: str | None = None,
) -> EndedSessions:
    """End every Django session signed in with ``sid`` (or by ``subject``, or with key
    ``session_key``), within ``issuer`` if given: their accounts are removed, which ends
    every session signed in with them."""
    found = session_index.find(sid=sid, subject=subject, issuer=issuer, session_key=session_key)
    accounts: dict[str, AbstractBaseUser] = {}
    for entry in found:
        accounts.setdefault(entry.home_account_id, entry.user)
    with settling():
        for home_account_id, user in accounts.items():
            remove_account(home_account_id, user=user, reason=reason)
    return EndedSessions(sessions=len(found), accounts=len(accounts))


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
    with settling():
        if user is not None and user.pk is not None:
            remove_on_behalf_of_tokens(caller_account_ids(user), reason=reason)
        return sum(remove_account(a, user=user, reason=reason) for a in accounts)


# -- the tokens a protected API got on a caller's behalf (msal_django.webapi.downstream) go with
# the caller's accounts: partitions "obo:<client id>:<oid>.<tid>", never linked to a user.

OBO_PREFIX = "obo"


def obo_partition_id(account_id: str) -> str:
    """The partition of a caller's on-behalf-of tokens; ``account_id`` is
    ``caller_account_id``'s (``<oid>.<tid>``, the caller's MSAL account id on Entra)."""
    return f"{OBO_PREFIX}:{msal_settings.CLIENT_ID}:{account_id}"


def remove_on_behalf_of_tokens(caller_account_ids: Iterable[str], *, reason: str) -> int:
    """Remove the on-behalf-of partitions of these callers (``<oid>.<tid>`` ids);
    returns how many were there. A Redis store that is down records the removal."""
    store = get_store()
    removed = 0
    for account_id in dict.fromkeys(caller_account_ids):
        partition_id = obo_partition_id(account_id)
        token_memory.forget(partition_id)  # other processes: their watch or a read
        removed += store.remove_or_defer(partition_id, reason)
    if removed:
        logger.info("Removed %d on-behalf-of token cache(s) (%s).", removed, reason)
    return removed


# An Entra object id and tenant id (GUIDs): ``<oid>.<tid>`` is then MSAL's
# ``home_account_id`` of the same person, so removing that account finds these tokens.
_PLAIN_ID = re.compile(r"[0-9A-Za-z_-]{1,128}")


def caller_account_id(issuer: str, subject: str) -> str:
    """The id of a caller's on-behalf-of partition, from their identity key
    (``MsalBackend.identity_key``: (``tid``, ``oid``) on Entra, else (``iss``, ``sub``)).

    The two kinds can never meet: ``<oid>.<tid>`` holds no colon, and a key of any other
    shape (``sub`` within an issuer URL) is ``key:`` and a digest of both parts. A
    ``sub`` that equals someone's ``oid`` is another person's key, not theirs.
    """
    if _PLAIN_ID.fullmatch(issuer) and _PLAIN_ID.fullmatch(subject):
        return f"{subject}.{issuer}"
    digest = hashlib.sha256(f"{issuer}\x00{subject}".encode("utf-8", "surrogatepass"))
    return f"key:{digest.hexdigest()[:48]}"


def caller_account_ids(user: AbstractBaseUser) -> list[str]:
    """The ids under which ``user`` calls this API (``caller_account_id`` of each of
    their identities)."""
    from msal_django.models import UserIdentity

    return [
        caller_account_id(issuer, subject)
        for issuer, subject in UserIdentity.objects.filter(user_id=user.pk).values_list(
            "issuer", "subject"
        )
    ]


def on_user_deleted(sender: Any, instance: AbstractBaseUser, **kwargs: Any) -> None:
    """``pre_delete`` of the user model: remove the user's accounts from the store."""
    remove_accounts_of(instance, None, reason="user_deleted")


def on_user_logged_out(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser | None, **kwargs: Any
) -> None:
    """Django's ``user_logged_out``: any ``auth.logout()`` (the admin's too) removes tokens."""
    remove_accounts_of(user, request, reason="logout")
