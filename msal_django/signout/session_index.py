"""The sign-in session index: which Django sessions each provider sign-in created.

A front-channel logout names a provider session (``sid``), a back-channel logout a
``sid`` and/or a person (``sub``); ``end_sessions`` finds the Django sessions they cover
in ``SignInSession`` (no scan of the session store), deletes each by its key, and removes
the accounts' tokens through ``accounts.remove_account``.

Deleting a session by key works with every engine that keeps sessions server-side
(``db``, ``cache``, ``cached_db``, ``file``); the ``signed_cookies`` engine cannot, and
the system check ``msal_django.E020`` refuses it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import router, transaction

from msal_django.models import SignInSession
from msal_django.signout.removal import remove_account

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.contrib.sessions.backends.base import SessionBase
    from django.http import HttpRequest

logger = logging.getLogger("msal_django")


@dataclass(frozen=True, slots=True)
class EndedSessions:
    """What a logout ended: Django sessions and accounts whose tokens were removed."""

    sessions: int
    accounts: int


def session_store(session_key: str | None = None) -> SessionBase:
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    return cast("SessionBase", store_class(session_key))


def record_sign_in(
    request: HttpRequest, *, claims: dict[str, Any], home_account_id: str, user: AbstractBaseUser
) -> None:
    """Index the request's session (just cycled by ``login()``) under the ID token's claims.

    ``subject`` is the ID token's ``sub``: the spec makes a logout token's ``sub`` the
    same value (on Entra it is pairwise, unlike ``oid``).
    """
    session = request.session
    if session.session_key is None:
        session.save()  # login() cycled the key; some engines assign one only on save.
    session_key = cast(str, session.session_key)
    SignInSession.objects.update_or_create(
        session_key=session_key,
        defaults={
            "sid": str(claims.get("sid") or "")[:255],
            "issuer": str(claims.get("iss") or "")[:255],
            "subject": str(claims.get("sub") or "")[:255],
            "home_account_id": home_account_id,
            "user": cast(Any, user),
        },
    )
    # Entries of sessions that ended on their own (expired, cleared) would pile up: drop
    # this user's entries whose session is gone. Bounded by the user's own sessions.
    store = session_store()
    primary = router.db_for_write(SignInSession)
    gone = [
        key
        for key in SignInSession.objects.using(primary)
        .filter(user=cast(Any, user))
        .exclude(session_key=session_key)
        .values_list("session_key", flat=True)
        if not store.exists(key)
    ]
    if gone:
        SignInSession.objects.filter(session_key__in=gone).delete()


def forget_session(session_key: str | None) -> None:
    """The session signed out here: it no longer needs finding."""
    if session_key:
        SignInSession.objects.filter(session_key=session_key).delete()


def on_user_logged_out(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    """``user_logged_out`` receiver: any ``auth.logout()`` drops the session's entry."""
    session = getattr(request, "session", None)
    forget_session(getattr(session, "session_key", None))


def end_sessions(
    *,
    reason: str,
    sid: str | None = None,
    subject: str | None = None,
    issuer: str | None = None,
    session_key: str | None = None,
    home_account_id: str | None = None,
) -> EndedSessions:
    """End every Django session signed in with ``sid`` (or by ``subject``, with key
    ``session_key``, or into account ``home_account_id``), within ``issuer`` if given,
    and remove their accounts' tokens."""
    if not (sid or subject or session_key or home_account_id):
        raise ValueError("end_sessions() needs a sid, a subject, a session key or an account.")
    # The primary: a replica may not hold a session that signed in a moment ago.
    primary = router.db_for_write(SignInSession)
    entries = SignInSession.objects.using(primary).select_related("user")
    if sid:
        entries = entries.filter(sid=sid)
    if subject:
        entries = entries.filter(subject=subject)
    if issuer:
        entries = entries.filter(issuer=issuer)
    if session_key:
        entries = entries.filter(session_key=session_key)
    if home_account_id:
        entries = entries.filter(home_account_id=home_account_id)
    found = list(entries)
    accounts: dict[str, AbstractBaseUser] = {}
    for entry in found:
        accounts.setdefault(entry.home_account_id, entry.user)
    # Tokens first: if the store is down (StoreUnavailable), the index still finds the
    # sessions when the logout is retried.
    for home_account_id, user in accounts.items():
        remove_account(home_account_id, user=user, reason=reason)
    # One transaction: with the database session engine, one commit for all of them.
    with transaction.atomic(using=router.db_for_write(SignInSession)):
        for entry in found:
            session_store(entry.session_key).delete()
        SignInSession.objects.filter(pk__in=[entry.pk for entry in found]).delete()
    if found:
        logger.info(
            "Ended %d session(s) and removed %d account(s) (%s).", len(found), len(accounts), reason
        )
    return EndedSessions(sessions=len(found), accounts=len(accounts))
