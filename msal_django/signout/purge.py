"""Removing cached accounts in bulk: the public function behind ``manage.py msal_purge``.

Accounts are selected on the ``CachedAccount`` index (it exists for both stores), then
removed in batches: one store round trip and one ``account_removed`` per account.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from msal_django.models import CachedAccount
from msal_django.signals import account_removed, send_account_removed
from msal_django.signout import session_index
from msal_django.stores import get_store

logger = logging.getLogger("msal_django")

_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_DURATION = timedelta(days=36500)  # a century: anything older is every account anyway


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``1d12h``, ``90m``, ``2w``, ``45s`` → a timedelta."""
    text = text.strip().lower()
    parts = _DURATION.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a duration like 30d, 12h, 1d12h, 90m, 2w or 45s.")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{text!r} is longer than {MAX_DURATION.days} days.")
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class PurgeResult:
    matched: int
    removed: int
    dry_run: bool


def select_accounts(
    *,
    everything: bool = False,
    user_ids: Iterable[object] = (),
    home_account_ids: Iterable[str] = (),
    tenant_ids: Iterable[str] = (),
    inactive_for: timedelta | None = None,
    expired: bool = False,
    now: datetime | None = None,
) -> QuerySet[CachedAccount]:
    """The accounts matching every given selector (they combine with AND)."""
    now = now or timezone.now()
    conditions = Q()
    if user_ids := list(user_ids):
        conditions &= Q(user_id__in=user_ids)
    if home_account_ids := list(home_account_ids):
        conditions &= Q(home_account_id__in=home_account_ids)
    if tenant_ids := list(tenant_ids):
        conditions &= Q(tenant_id__in=tenant_ids)
    if inactive_for is not None:
        if not timedelta(0) <= inactive_for <= MAX_DURATION:
            raise ValueError(f"inactive_for must be from 0 to {MAX_DURATION.days} days.")
        conditions &= Q(updated_at__lt=now - inactive_for)
    if expired:
        conditions &= Q(refresh_token_expires_at__lt=now)
    if not conditions and not everything:
        raise ValueError("No selector given: name accounts, users, a tenant, or use everything.")
    return CachedAccount.objects.filter(conditions)


def purge(
    accounts: QuerySet[CachedAccount],
    *,
    reason: str = "purge",
    dry_run: bool = False,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> PurgeResult:
    """Remove the selected accounts' tokens in batches, end the sessions signed in with
    them, and send ``account_removed``.

    Memory stays bounded by ``batch_size`` (at least 1) whatever the number of accounts.
    ``progress`` is called with the running count after each batch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}.")
    matched = removed = 0
    for batch in _batches(accounts, batch_size):
        matched += len(batch)
        if not dry_run:
            gone = set(get_store().remove_many([home for home, _ in batch]))
            removed += len(gone)
            # Their sessions end too: one query to find them, one transaction to end them.
            session_index.end(session_index.find(home_account_ids=gone))
            _announce([(home, user_id) for home, user_id in batch if home in gone], reason)
        if progress is not None:
            progress(matched)
    if not dry_run:
        logger.info("Purged the cached tokens of %d accounts (%s).", removed, reason)
    return PurgeResult(matched=matched, removed=removed, dry_run=dry_run)


def _batches(accounts: QuerySet[CachedAccount], size: int) -> Iterator[list[tuple[str, object]]]:
    # Keyset pagination on the primary key: no OFFSET scans, nothing held between batches.
    last = 0
    while True:
        rows = list(
            accounts.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "home_account_id", "user_id")[:size]
        )
        if not rows:
            return
        last = rows[-1][0]
        yield [(home, user_id) for _, home, user_id in rows]


def _announce(removed: list[tuple[str, object]], reason: str) -> None:
    if not removed or not account_removed.has_listeners():
        return
    user_model = get_user_model()
    users = user_model._default_manager.in_bulk({u for _, u in removed if u is not None})
    sender = type(get_store())
    for home_account_id, user_id in removed:
        send_account_removed(sender, home_account_id, user=users.get(user_id), reason=reason)
