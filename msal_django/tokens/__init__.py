"""Tokens for a signed-in user: ``get_token`` and its family.

In: a request (or a user, or an account id) and the scopes of an API.
Out: an access token string, or ``InteractionRequired`` / ``ProviderError`` /
``StoreUnavailable``.

A token this process remembers is served with no read, or after one read of the
partition's version (``msal_django.tokens.served``); otherwise the partition is loaded, MSAL
acquires silently (refreshing if it must), and the new state is saved with
compare-and-set only if MSAL changed it. A refresh token the provider refuses removes the
account (``msal_django.signout.removal``). ``acquire_from_state`` serves a sign-in's
tokens before they are stored (group overage), and ``masked`` and ``raise_for`` are
shared with the web API's on-behalf-of tokens."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NoReturn

from asgiref.sync import sync_to_async
from django.views.decorators.debug import sensitive_variables

from msal_django import credentials, msal_app
from msal_django.conf import msal_settings
from msal_django.constants import RESERVED_SCOPES, SESSION_ACCOUNT_KEY, SESSION_LEARNED_ACCOUNT_KEY
from msal_django.exceptions import InteractionRequired, ProviderError
from msal_django.redact import Secret, describe
from msal_django.signout.removal import remove_account
from msal_django.stores import (
    Partition,
    TokenStore,
    get_store,
    newest_account_of,
)
from msal_django.tokens.access_token import access_token
from msal_django.tokens.served import Recall, remember, served

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest

logger = logging.getLogger("msal_django")

# invalid_grant with one of these suberrors: the user can fix it by signing in again
# or consenting; the refresh token itself is still good for other scopes.
_FIXABLE_SUBERRORS = frozenset(
    {
        "consent_required",
        "basic_action",
        "additional_action",
        "message_only",
        "user_password_expired",
    }
)
_TRANSIENT_ERRORS = frozenset({"temporarily_unavailable", "server_error"})
# What ``acquire`` raises when the account's partition is not (or no longer) there.
_ACCOUNT_GONE = frozenset({"no_cached_tokens", "signed_out"})
_ATTEMPTS = 4
_TOKEN_KEYS = frozenset({"access_token", "refresh_token", "id_token"})


def get_token(
    request: HttpRequest, scopes: Iterable[str], *, claims_challenge: str | None = None
) -> str:
    """An access token for ``request.user`` and ``scopes``.

    The account is the one the session signed in with through msal-django; a session
    authenticated any other way (a password, ``force_login``, an API token, a DRF
    authentication class) gets the user's most recently written linked account, and
    remembers it when the session already exists (no extra query on later calls).

    Served from the user's token cache when one is valid (no network, no write);
    otherwise MSAL refreshes it and the new tokens are saved with compare-and-set.
    Raises ``InteractionRequired`` when the user must sign in or consent again,
    ``ProviderError`` when the provider fails, ``StoreUnavailable`` when the store does.
    ``openid``, ``profile`` and ``offline_access`` are left out (MSAL adds them itself);
    ``ValueError`` if no other scope is left, ``TypeError`` for a string.

    ``claims_challenge``: the claims an API's ``401`` asked for (Continuous Access
    Evaluation, Conditional Access; ``msal_django.claims_challenge`` reads them from the
    response). No remembered or cached access token is served: MSAL redeems the refresh
    token with the claims, and the new tokens replace the old ones on every host. If the
    provider refuses, the account is removed (``account_removed`` with reason
    ``"provider_refused"``) and ``InteractionRequired`` carries the claims, so the
    middleware sends the user to sign in with them.
    """
    scopes = api_scopes(scopes)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise InteractionRequired(scopes, error="not_signed_in", claims_challenge=claims_challenge)
    return _for_request(request, user, scopes, claims_challenge)


async def aget_token(
    request: HttpRequest, scopes: Iterable[str], *, claims_challenge: str | None = None
) -> str:
    """``get_token`` for async views: the user from ``request.auser()``, the store and
    MSAL in Django's thread for synchronous code, never on the event loop."""
    scopes = api_scopes(scopes)
    user = await request.auser()
    if not user.is_authenticated:
        raise InteractionRequired(scopes, error="not_signed_in", claims_challenge=claims_challenge)
    # Sessions are synchronous in Django: the session is read and written in that thread.
    return await sync_to_async(_for_request)(request, user, scopes, claims_challenge)


def get_token_for_user(
    user: AbstractBaseUser,
    scopes: Iterable[str],
    *,
    home_account_id: str | None = None,
    claims_challenge: str | None = None,
) -> str:
    """An access token for ``user`` without a request: jobs, Celery tasks, commands.

    The account is ``home_account_id`` when given (it must be linked to ``user``),
    else the user's most recently written linked account. Raises ``InteractionRequired``
    when the user has no usable tokens (never signed in, signed out, inactive), like
    ``get_token`` (``claims_challenge`` too).
    """
    scopes = api_scopes(scopes)
    _check_active(user, scopes)
    if home_account_id is None:
        home_account_id = newest_account_of(user)
        if home_account_id is None:
            raise InteractionRequired(scopes, error="no_cached_tokens")
    return acquire(home_account_id, scopes, user=user, claims_challenge=claims_challenge)


async def aget_token_for_user(
    user: AbstractBaseUser,
    scopes: Iterable[str],
    *,
    home_account_id: str | None = None,
    claims_challenge: str | None = None,
) -> str:
    """``get_token_for_user`` for async code, the store and MSAL off the event loop."""
    return await sync_to_async(get_token_for_user)(
        user, scopes, home_account_id=home_account_id, claims_challenge=claims_challenge
    )


def _check_active(user: AbstractBaseUser, scopes: list[str]) -> None:
    if user is None or user.pk is None or not getattr(user, "is_active", True):
        raise InteractionRequired(scopes, error="inactive_user")


def _for_request(
    request: HttpRequest, user: AbstractBaseUser, scopes: list[str], claims: str | None = None
) -> str:
    _check_active(user, scopes)
    session: Any = getattr(request, "session", None)
    if session is None:  # no SessionMiddleware: an API authenticated otherwise
        session = {}
    signed_in = session.get(SESSION_ACCOUNT_KEY)
    if signed_in:  # signed in through msal-django: that account, and no other
        return acquire(signed_in, scopes, user=user, claims_challenge=claims)
    learned = session.get(SESSION_LEARNED_ACCOUNT_KEY)
    if learned:
        try:
            return acquire(learned, scopes, user=user, claims_challenge=claims)
        except InteractionRequired as exc:
            if exc.error not in _ACCOUNT_GONE:
                raise
            # Removed since (a logout elsewhere): forget it and look again below.
            del session[SESSION_LEARNED_ACCOUNT_KEY]
    home_account_id = newest_account_of(user)
    if home_account_id is None:
        raise InteractionRequired(scopes, error="no_cached_tokens")
    token = acquire(home_account_id, scopes, user=user, claims_challenge=claims)
    # Remember it in a session that already exists; never create one (API clients).
    if getattr(session, "session_key", None):
        session[SESSION_LEARNED_ACCOUNT_KEY] = home_account_id
    return token


@sensitive_variables()  # tokens: never on an error page or in an error report
def acquire(
    home_account_id: str,
    scopes: Iterable[str],
    *,
    user: AbstractBaseUser | None = None,
    claims_challenge: str | None = None,
) -> str:
    """The token for one account id. With ``user``, an account linked to another user
    reads as absent. Internal: ``get_token_for_user`` is the public way.

    A token this process remembers is served with no read or after one read of the
    partition's version (``msal_django.tokens.served``); otherwise the full path runs,
    one request of the account at a time in this process, so concurrent requests share
    one refresh.
    """
    scopes = api_scopes(scopes)
    store = get_store()
    user_id = user.pk if user is not None else None
    return served(
        store,
        home_account_id,
        scopes,
        user_id,
        lambda recall: _acquire(store, home_account_id, scopes, user, recall, claims_challenge),
        fresh=claims_challenge is not None,
    )


def _acquire(
    store: TokenStore,
    home_account_id: str,
    scopes: list[str],
    user: AbstractBaseUser | None,
    recall: Recall | None,
    claims: str | None = None,
) -> str:
    user_id = user.pk if user is not None else None
    partition = store.load(home_account_id, user_id)
    for _attempt in range(_ATTEMPTS):
        if partition.state is None:
            raise InteractionRequired(scopes, error="no_cached_tokens", claims_challenge=claims)
        result, new_state = silent(partition.state, home_account_id, scopes, claims=claims)
        if result and "access_token" in result:
            version = partition.version
            if new_state is not None:
                version = store.save(partition, new_state)
                if version is None:
                    _lost_race(store, home_account_id, scopes)
            if recall is not None and version is not None:
                remember(recall, home_account_id, version, scopes, result)
            return access_token(result)
        if not refresh_token_is_dead(result):
            raise_for(result, scopes, claims)
        # A provider that rotates refresh tokens strictly refuses ours if a concurrent
        # request already used it: retry on the newer partition before giving up on it.
        current = newer_partition(store, partition, user_id)
        if current is not None:
            partition = current
            continue
        # Refused while a claims challenge asked (CAE: the user was disabled or their
        # sessions revoked): the provider would not satisfy it.
        reason = "provider_refused" if claims else "refresh_token_rejected"
        remove_account(home_account_id, user=user, reason=reason)
        raise_for(result, scopes, claims)
    raise ProviderError("Too many concurrent refreshes for one account; retry.", transient=True)


def api_scopes(scopes: Iterable[str]) -> list[str]:
    """``scopes`` without the ones MSAL adds itself and refuses to be given."""
    if isinstance(scopes, str):
        raise TypeError(f"scopes is a list of scopes: [{scopes!r}], not {scopes!r}.")
    kept = [scope for scope in scopes if scope not in RESERVED_SCOPES]
    if not kept:
        raise ValueError(
            "get_token needs the scope of an API, e.g. ['User.Read']; openid, profile and "
            "offline_access are added by MSAL and left out here."
        )
    return kept


def newer_partition(store: TokenStore, partition: Partition, user_id: Any) -> Partition | None:
    """The partition if another request saves it within ``REFRESH_RACE_GRACE``, else None."""
    deadline = time.monotonic() + msal_settings.REFRESH_RACE_GRACE
    while True:
        current = store.load(partition.home_account_id, user_id)
        if not current.exists:
            return None
        if current.version != partition.version:
            return current
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


@sensitive_variables()
def silent(
    state: str,
    home_account_id: str,
    scopes: list[str],
    *,
    claims: str | None = None,
    force_refresh: bool = False,
) -> tuple[dict[str, Any] | None, str | None]:
    """MSAL's silent acquisition on ``state``: its result, and the new state if it changed.
    With ``claims`` (a claims challenge) or ``force_refresh``, MSAL skips the cached access
    token and redeems the refresh token."""
    with msal_app.app_holding(state) as app:
        account = {"home_account_id": home_account_id, "environment": app.authority.instance}
        try:
            result = app.acquire_token_silent_with_error(
                scopes, account, claims_challenge=claims, force_refresh=force_refresh
            )
        except msal_app.TRANSIENT_ERRORS as exc:
            raise ProviderError(
                f"The identity provider could not be reached: {describe(exc)}", transient=True
            ) from None  # MSAL's frames hold the refresh token and the client secret
        except ProviderError as exc:  # the app's credential, from inside MSAL's frames
            raise exc.detached() from None
        cache = app.token_cache
        return masked(result), (Secret(cache.serialize()) if cache.has_state_changed else None)


def masked(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """MSAL's result with its tokens as ``Secret``: no error page shows them."""
    if result is None:
        return None
    return {
        k: Secret(v) if k in _TOKEN_KEYS and isinstance(v, str) else v for k, v in result.items()
    }


def refresh_token_is_dead(result: dict[str, Any] | None) -> bool:
    return bool(
        result
        and result.get("error") == "invalid_grant"
        and result.get("suberror") not in _FIXABLE_SUBERRORS
    )


def _lost_race(store: TokenStore, home_account_id: str, scopes: list[str]) -> None:
    # Another request wrote the partition since we loaded it, or logout removed it.
    if not store.load(home_account_id).exists:
        raise InteractionRequired(scopes, error="signed_out")
    # Newer tokens are stored; ours is valid too, and the newer ones are kept.


def raise_for(
    result: dict[str, Any] | None, scopes: list[str], claims: str | None = None
) -> NoReturn:
    """The error MSAL's ``result`` means; ``claims``: the challenge this call carried,
    passed on to the sign-in when the provider sent none of its own."""
    if not result:
        raise InteractionRequired(scopes, error="no_token_in_cache", claims_challenge=claims)
    error = str(result.get("error", ""))
    suberror = result.get("suberror")
    if error in _TRANSIENT_ERRORS:
        raise ProviderError(f"The identity provider answered {error}", error=error, transient=True)
    if error in {"invalid_grant", "interaction_required", "consent_required", "login_required"}:
        raise InteractionRequired(
            scopes, error=suberror or error, claims_challenge=result.get("claims") or claims
        )
    raise credentials.refused(result) or ProviderError(
        f"The identity provider refused to issue a token: {error}", error=error, transient=False
    )


# -- at sign-in, before anything is stored (msal_django.signin.authorization's overage) ---------


@sensitive_variables()
def acquire_from_state(
    state: str, home_account_id: str, scopes: Iterable[str]
) -> tuple[str, str | None]:
    """A token for ``scopes`` from a cache not yet stored (a sign-in's), and the cache's
    new state if MSAL changed it. Raises like ``acquire``."""
    scopes = api_scopes(scopes)
    result, new_state = silent(state, home_account_id, scopes)
    if result and "access_token" in result:
        return str(result["access_token"]), new_state
    raise_for(result, scopes)
