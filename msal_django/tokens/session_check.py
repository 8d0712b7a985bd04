"""Whether a signed-in account still stands at the provider: the session check.

Entra ID sends no back-channel logout. When an admin disables a user, revokes their
sessions or resets their password, the refresh token is refused from then on
(``invalid_grant``: AADSTS50057, 50173, 50133...). ``check_account`` asks exactly that
(a refresh-token redemption, MSAL's ``force_refresh``): refused, the account is removed
with reason ``"provider_refused"`` and every session signed in with it ends
(``msal_django.signout.removal``); the provider unreachable, nothing ends.

``due`` and ``claim`` keep it to at most once per ``SESSION_CHECK_INTERVAL`` per account:
``due`` is this process's memory (a dict lookup: what a request inside the interval
costs), ``claim`` is shared by every process and host through Django's default cache
(``cache.add`` is atomic in Redis, memcached and the database cache).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.cache import cache

from msal_django.conf import msal_settings, resets_on_change
from msal_django.constants import RESERVED_SCOPES
from msal_django.exceptions import ProviderError, StoreUnavailable
from msal_django.models import CachedAccount
from msal_django.signout.removal import remove_account
from msal_django.stores import get_store, token_memory
from msal_django.tokens import newer_partition, refresh_token_is_dead, silent

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger("msal_django")

CLAIM_PREFIX = "msal_django:session_check:"
RETRY_AFTER_UNREACHABLE = 60.0  # seconds: a provider outage is asked about again soon
OFF_RECHECK = 3600.0  # seconds before a process looks at the setting again for an account
_MAX_REMEMBERED = 100_000  # accounts whose next check this process remembers

# Account -> this process's monotonic time of its next check.
_next_check: dict[str, float] = {}


class Outcome(Enum):
    VALID = "valid"  # the provider redeemed the refresh token: the account stands
    REMOVED = "removed"  # refused: tokens removed, sessions ended
    UNREACHABLE = "unreachable"  # the provider or the store did not answer: nothing ended
    GONE = "gone"  # no tokens to ask with (removed elsewhere): nothing to do
    SKIPPED = "skipped"  # checked within the interval, by this process or another


@resets_on_change()
def reset() -> None:
    """Forget when each account is due (settings changed: the interval, the provider)."""
    _next_check.clear()


def due(home_account_id: str) -> bool:
    """Whether this process should look at the account again (the hot path)."""
    return _next_check.get(home_account_id, 0.0) <= time.monotonic()


def _postpone(home_account_id: str, seconds: float) -> None:
    if len(_next_check) >= _MAX_REMEMBERED:
        _next_check.clear()  # at worst each account is claimed again, once
    _next_check[home_account_id] = time.monotonic() + seconds


def _claim_key(home_account_id: str) -> str:
    return CLAIM_PREFIX + hashlib.sha256(home_account_id.encode()).hexdigest()


def claim(home_account_id: str, interval: float) -> float | None:
    """Claim the account's check for every process: None if this caller checks now,
    else the seconds until the next check is due. A cache that fails claims it here."""
    now = time.time()
    try:
        if cache.add(_claim_key(home_account_id), now, timeout=math.ceil(interval)):
            return None
        last = cache.get(_claim_key(home_account_id))
    except Exception as exc:  # any cache backend's error: check rather than never
        logger.warning("Session check: the cache did not answer (%s).", type(exc).__name__)
        return None
    if isinstance(last, int | float) and not isinstance(last, bool):
        return max(1.0, last + interval - now)
    return interval


def signed_in(home_account_id: str) -> None:
    """A sign-in just proved the account: the next check is an interval away."""
    interval = msal_settings.SESSION_CHECK_INTERVAL
    if interval is None:
        return
    try:
        cache.set(_claim_key(home_account_id), time.time(), timeout=math.ceil(interval))
    except Exception as exc:  # any cache backend's error: the check runs sooner, that is all
        logger.warning("Session check: the cache did not answer (%s).", type(exc).__name__)
    _postpone(home_account_id, interval)


def check_scopes() -> list[str]:
    """What the check's refresh asks for: the sign-in's own scopes (it proves the refresh
    token; the access token it brings is stored like any other)."""
    return [scope for scope in msal_settings.SCOPES if scope not in RESERVED_SCOPES]


def check_if_due(
    home_account_id: str, user: AbstractBaseUser | None, *, wait_for_interval: bool = True
) -> Outcome:
    """``check_account`` at most once per interval per account, across processes.
    ``wait_for_interval=False``: this process's own memory is not consulted (a job)."""
    interval = msal_settings.SESSION_CHECK_INTERVAL
    if interval is None:
        # Off: not asked again until the settings change (which empties this memory).
        _postpone(home_account_id, OFF_RECHECK)
        return Outcome.SKIPPED
    with token_memory.one_at_a_time(home_account_id):
        if wait_for_interval and not due(home_account_id):  # a concurrent request just did
            return Outcome.SKIPPED
        wait = claim(home_account_id, interval)
        if wait is not None:
            _postpone(home_account_id, wait)
            return Outcome.SKIPPED
        outcome = _check(home_account_id, user)
        _postpone(
            home_account_id,
            min(interval, RETRY_AFTER_UNREACHABLE) if outcome is Outcome.UNREACHABLE else interval,
        )
        return outcome


def check_account(home_account_id: str, user: AbstractBaseUser | None = None) -> Outcome:
    """Ask the provider now whether the account stands (one request of the account at a
    time in this process, like a refresh)."""
    with token_memory.one_at_a_time(home_account_id):
        return _check(home_account_id, user)


def _check(home_account_id: str, user: AbstractBaseUser | None) -> Outcome:
    store = get_store()
    user_id: Any = user.pk if user is not None else None
    try:
        partition = store.load(home_account_id, user_id)
        for _attempt in range(3):
            if partition.state is None:
                return Outcome.GONE
            result, new_state = silent(
                partition.state, home_account_id, check_scopes(), force_refresh=True
            )
            if result is None:  # MSAL holds no refresh token for it: nothing to ask with
                return Outcome.GONE
            if "error" not in result:  # redeemed (with or without an access token)
                if new_state is not None:
                    store.save(partition, new_state)  # lost to a newer write: fine too
                return Outcome.VALID
            if not refresh_token_is_dead(result):
                error = str(result.get("error"))
                logger.info("Session check of %s: the provider said %s.", home_account_id, error)
                transient = error in {"temporarily_unavailable", "server_error"}
                return Outcome.UNREACHABLE if transient else Outcome.VALID
            # Strictly rotating refresh tokens: a concurrent refresh may have used ours.
            current = newer_partition(store, partition, user_id)
            if current is None:
                break
            partition = current
        remove_account(home_account_id, user=user, reason="provider_refused")
        logger.info("Session check: the provider refused account %s.", home_account_id)
        return Outcome.REMOVED
    except (ProviderError, StoreUnavailable) as exc:
        logger.warning("Session check of %s not done: %s", home_account_id, exc)
        return Outcome.UNREACHABLE


@dataclass
class CheckedSessions:
    """What ``check_sessions`` did, by outcome (``due``: what a dry run would ask)."""

    due: int = 0
    valid: int = 0
    removed: int = 0
    unreachable: int = 0
    gone: int = 0
    skipped: int = 0


def check_sessions(*, dry_run: bool = False, batch_size: int = 500) -> CheckedSessions:
    """The session check for every signed-in account in the store, in batches: each one
    not checked within ``SESSION_CHECK_INTERVAL`` (by a request or an earlier run; every
    one when the interval is ``None``) is asked about now. ``dry_run``: count them only."""
    counts = CheckedSessions()
    interval = msal_settings.SESSION_CHECK_INTERVAL
    rows = CachedAccount.objects.filter(user__isnull=False).order_by("pk")
    last_pk = 0
    while True:
        batch = list(
            rows.filter(pk__gt=last_pk).values_list("pk", "home_account_id", "user_id")[:batch_size]
        )
        if not batch:
            return counts
        last_pk = batch[-1][0]
        users = get_user_model()._default_manager.in_bulk({row[2] for row in batch})
        for _pk, home_account_id, user_id in batch:
            counts.due += 1
            if dry_run:
                continue
            user = users.get(user_id)
            if interval is None:
                outcome = check_account(home_account_id, user)
            else:
                outcome = check_if_due(home_account_id, user, wait_for_interval=False)
            setattr(counts, outcome.value, getattr(counts, outcome.value) + 1)
