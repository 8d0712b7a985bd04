"""The sign-in session index: which Django sessions each provider sign-in created.

A front-channel logout names a provider session (``sid``), a back-channel logout a
``sid`` and/or a person (``sub``), every removal an account: ``find`` looks the Django
sessions up in ``SignInSession`` (no scan of the session store) and ``end`` deletes each
by its key. ``msal_django.signout.removal`` decides what ends when.

Deleting a session by key works with every engine that keeps sessions server-side
(``db``, ``cache``, ``cached_db``, ``file``); the ``signed_cookies`` engine cannot, and
the system check ``msal_django.E020`` refuses it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from importlib import import_module
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import router, transaction

from msal_django.models import SignInSession

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.contrib.sessions.backends.base import SessionBase
    from django.http import HttpRequest

logger = logging.getLogger("msal_django")


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


def find(
    *,
    sid: str | None = None,
    subject: str | None = None,
    issuer: str | None = None,
    session_key: str | None = None,
    home_account_id: str | None = None,
    home_account_ids: Collection[str] | None = None,
) -> list[SignInSession]:
    """The sign-ins matching every criterion given (at least one), their users loaded,
    read on the primary: a replica may not hold a session that signed in a moment ago."""
    criteria: dict[str, Any] = {
        "sid": sid,
        "subject": subject,
        "issuer": issuer,
        "session_key": session_key,
        "home_account_id": home_account_id,
    }
    criteria = {name: value for name, value in criteria.items() if value}
    if home_account_ids is not None:
        criteria["home_account_id__in"] = list(home_account_ids)
    if not criteria or criteria.keys() == {"issuer"}:
        raise ValueError("find() needs a sid, a subject, a session key or an account.")
    entries = SignInSession.objects.using(router.db_for_write(SignInSession))
    return list(entries.select_related("user").filter(**criteria))


def end(entries: list[SignInSession]) -> int:
    """Delete each entry's Django session and the entry: the sessions are signed out."""
    if not entries:
        return 0
    # One transaction: with the database session engine, one commit for all of them.
    with transaction.atomic(using=router.db_for_write(SignInSession)):
        for entry in entries:
            session_store(entry.session_key).delete()
        SignInSession.objects.filter(pk__in=[entry.pk for entry in entries]).delete()
    return len(entries)
