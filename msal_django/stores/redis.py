"""The Redis store: one key per account, shared by every host.

Redis is reached through a django-redis cache (``REDIS_CACHE_ALIAS``; the key passes
through its ``make_key``, on the server a ``ShardClient`` picks or the primary) or a
redis-py client of the project's (``REDIS_CLIENT``, ``stores/redis_client.py``; a
cluster client routes to the primary of the key's slot, following ``MOVED``/``ASK``).
Never a replica, which could still hold tokens a logout has removed. Every command
touches one key (a batch is a pipeline, split per node on a cluster). The value is one
string, so a hit is one read and a compare-and-set one script call::

    md1:<version>:<user pk>:<MSAL's serialized cache, sealed by msal_django.stores.sealing>

The user's link to the account and the admin's summary stay in the database (a
``CachedAccount`` row with ``store="redis"`` and no data).

A logout that cannot reach Redis records a ``PendingRemoval`` in the database. Every
process applies the records before it reads Redis when its last look is older than
``REDIS_PENDING_CHECK_INTERVAL`` (or Redis failed since), and the logout returns only
once that interval has passed since the commit: a read that starts after the logout
returns, on any host, removes the tokens first. A hit pays one ``time.monotonic()``.

Replication is asynchronous. With ``REDIS_WAIT_REPLICAS`` each write is followed on its
connection by ``WAIT`` (``stores/redis_wait.py``); a removal the replicas do not confirm
is handled like an outage (recorded, applied again until confirmed), so a failover
cannot bring tokens back. A look deletes the recorded keys from the primary without
``WAIT``, which is all a read needs; the reader that looked then tries to confirm them
(one ``WAIT`` per server), while the process's other reads go on.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, cast

from django.db import DatabaseError, router, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from redis.commands.core import Script

from msal_django.conf import msal_settings
from msal_django.exceptions import StoreUnavailable
from msal_django.models import CachedAccount, PendingRemoval
from msal_django.signals import send_account_removed
from msal_django.stores import redis_watch, token_memory
from msal_django.stores.base import AccountInfo, Partition, TokenStore, new_version
from msal_django.stores.redis_client import locate
from msal_django.stores.redis_wait import (
    REDIS_ERRORS,
    deleting,
    log_unconfirmed,
    replicated,
    unconfirmed,
)
from msal_django.stores.summaries import summarize
from msal_django.stores.watch import Watch, settle

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from redis import Redis

logger = logging.getLogger("msal_django.stores")

FORMAT = b"md1:"
_HEAD = len(FORMAT) + 32 + 1  # "md1:" + a uuid4 hex version + ":"

# Compare-and-set in one round trip: write only if the key still holds the version the
# request loaded, so a slower refresh cannot overwrite newer tokens and a request that
# loaded the account before a logout cannot write it back. The owner is kept as stored.
# KEYS[1]: the key. ARGV: the loaded head "md1:<version>:", the new head, the new sealed
# token, the TTL in seconds.
_CAS_SCRIPT = b"""
local current = redis.call('GET', KEYS[1])
if not current or string.sub(current, 1, string.len(ARGV[1])) ~= ARGV[1] then
  return 0
end
local owner = string.match(string.sub(current, string.len(ARGV[1]) + 1), '^([^:]*):')
if not owner then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2] .. owner .. ':' .. ARGV[3], 'EX', ARGV[4])
return 1
"""

_RECHECK_MARGIN = 0.05  # seconds, for the rate difference of clocks on different hosts


class RedisStore(TokenStore):
    name = "redis"

    def __init__(self) -> None:
        # Bytes, so no client is needed to hash it; each call passes the right server.
        self._cas = Script(cast(Any, None), _CAS_SCRIPT)

    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        pending.suspect()
        return StoreUnavailable(
            f"The Redis token store is unavailable ({type(exc).__name__}); retry later."
        )

    def _ttl(self) -> int:
        return msal_settings.REFRESH_TOKEN_LIFETIME + msal_settings.REDIS_TTL_MARGIN

    # The TokenStore interface.

    def watch(self) -> Watch | None:
        watch = redis_watch.current()
        if watch is not None:
            pending.before_read()  # a hit with no read still applies recorded removals
        return watch

    def load(self, home_account_id: str, user_id: Any = None) -> Partition:
        pending.before_read()
        try:
            server, key = locate(home_account_id)
            value = server.get(key)
        except REDIS_ERRORS as exc:
            raise self._unavailable(exc) from exc
        return self._parse(home_account_id, value, user_id)

    def version(self, home_account_id: str, user_id: Any = None) -> str | None:
        # The head of the value only: "md1:<version>:" and, with user_id, "<owner>:".
        pending.before_read()
        owner = b"" if user_id is None else str(user_id).encode() + b":"
        try:
            server, key = locate(home_account_id)
            head = server.getrange(key, 0, _HEAD + len(owner) - 1)
        except REDIS_ERRORS as exc:
            raise self._unavailable(exc) from exc
        if not (
            isinstance(head, bytes)
            and len(head) == _HEAD + len(owner)
            and head.startswith(FORMAT)
            and head.endswith(b":" + owner)
        ):
            return None  # absent, another user's, or not ours (load says which, and warns)
        return head[len(FORMAT) : _HEAD - 1].decode("ascii", "replace")

    def _parse(self, home_account_id: str, value: Any, user_id: Any) -> Partition:
        if value is None:
            return Partition(home_account_id, None, None)
        if not (
            isinstance(value, bytes)
            and value.startswith(FORMAT)
            and value[_HEAD - 1 : _HEAD] == b":"
        ):
            logger.warning(
                "The Redis key of account %s does not hold an msal_django token cache "
                "(another client's data?); treating it as empty.",
                home_account_id,
            )
            return Partition(home_account_id, None, None)
        owner, _, token = value[_HEAD:].partition(b":")  # the sealed cache is binary
        if user_id is not None and owner != str(user_id).encode():
            return Partition(home_account_id, None, None)
        version = value[len(FORMAT) : _HEAD - 1].decode("ascii", "replace")
        return Partition(home_account_id, self.unseal(home_account_id, token), version)

    @sensitive_variables()
    def save(self, partition: Partition, state: str) -> str | None:
        if partition.version is None:
            return None
        # A removal recorded during an outage must win over a refresh that loaded earlier.
        pending.before_read()
        version = new_version()
        loaded_head = FORMAT + partition.version.encode() + b":"
        try:
            server, key = locate(partition.home_account_id)
            new_head = FORMAT + version.encode() + b":"
            sealed = self.seal(partition.home_account_id, state)
            args: list[bytes | int] = [loaded_head, new_head, sealed, self._ttl()]
            if msal_settings.REDIS_WAIT_REPLICAS:
                [written], confirmed = replicated(
                    server,
                    [key],
                    lambda pipe: pipe.execute_command("EVAL", _CAS_SCRIPT, 1, key, *args),
                )
                if written and not confirmed:
                    log_unconfirmed("refresh", partition.home_account_id)
            else:
                written = self._cas(keys=[key], args=args, client=server)
        except REDIS_ERRORS as exc:
            raise self._unavailable(exc) from exc
        if not written:
            return None
        self._summarize(partition.home_account_id, state, version)
        return version

    def _summarize(self, home_account_id: str, state: str, version: str) -> None:
        # The summary is for the admin only: a database hiccup must not fail the request.
        now = timezone.now()
        try:
            with transaction.atomic(using=router.db_for_write(CachedAccount)):
                CachedAccount.objects.filter(home_account_id=home_account_id).update(
                    version=version, updated_at=now, **summarize(state, now).as_fields()
                )
        except DatabaseError as exc:
            logger.warning("Could not update the summary of account %s: %s", home_account_id, exc)

    @sensitive_variables()
    def replace(
        self, home_account_id: str, state: str, user: AbstractBaseUser | None, info: AccountInfo
    ) -> None:
        pending.before_read()
        token_memory.forget(home_account_id)  # other processes: their watch or a read
        version = new_version()
        owner = b"" if user is None else str(user.pk).encode()
        value = FORMAT + version.encode() + b":" + owner + b":" + self.seal(home_account_id, state)
        try:
            server, key = locate(home_account_id)
            _, confirmed = replicated(
                server, [key], lambda pipe: pipe.set(key, value, ex=self._ttl())
            )
        except REDIS_ERRORS as exc:
            raise self._unavailable(exc) from exc
        if not confirmed:
            log_unconfirmed("sign-in", home_account_id)
        try:
            CachedAccount.objects.update_or_create(
                home_account_id=home_account_id,
                defaults={
                    "user": cast(Any, user),
                    "data": b"",
                    "version": version,
                    "username": info.username[:255],
                    "tenant_id": info.tenant_id[:64],
                    "store": self.name,
                    **summarize(state).as_fields(),
                },
            )
        except DatabaseError as exc:
            # No row, no account: tokens nobody can list, purge or revoke are taken back.
            with contextlib.suppress(*REDIS_ERRORS):
                server.delete(key)
            raise StoreUnavailable(f"The database did not record the sign-in: {exc}") from exc

    def remove(self, home_account_id: str) -> bool:
        # Recorded removals first: they send account_removed with their own reason, once.
        pending.before_read()
        held, confirmed = self._delete([home_account_id])
        if not confirmed:
            raise unconfirmed([home_account_id])
        settle()  # held or not: a concurrent removal may have deleted it
        with transaction.atomic(using=router.db_for_write(CachedAccount)):
            rows, _ = CachedAccount.objects.filter(home_account_id=home_account_id).delete()
        return bool(held) or rows > 0

    def remove_many(self, home_account_ids: list[str]) -> list[str]:
        pending.before_read()
        gone, confirmed = self._delete(home_account_ids)
        if not_confirmed := [a for a in home_account_ids if a not in confirmed]:
            raise unconfirmed(not_confirmed)
        settle()
        alias = router.db_for_write(CachedAccount)
        with transaction.atomic(using=alias):
            rows = CachedAccount.objects.using(alias).filter(home_account_id__in=home_account_ids)
            gone.update(rows.select_for_update().values_list("home_account_id", flat=True))
            rows.delete()
        return [a for a in home_account_ids if a in gone]

    def _delete(
        self, home_account_ids: list[str], *, wait: bool = True
    ) -> tuple[set[str], set[str]]:
        """Delete the accounts' keys: (those that held one, those the replicas confirmed).
        One pipeline per server holding any of them (a cluster client's pipeline sends one
        batch per node): one round trip and one ``WAIT`` each, never a multi-key command."""
        by_server: dict[int, tuple[Redis, list[tuple[str, str]]]] = {}
        held: set[str] = set()
        confirmed: set[str] = set()
        try:
            for home_account_id in home_account_ids:
                server, key = locate(home_account_id)
                by_server.setdefault(id(server), (server, []))[1].append((home_account_id, key))
            for server, accounts in by_server.values():
                keys = [key for _, key in accounts]
                deleted, done = replicated(server, keys, deleting(keys), wait=wait)
                held.update(a for (a, _), n in zip(accounts, deleted, strict=True) if n)
                confirmed.update(a for a, _ in accounts if done)
        except REDIS_ERRORS as exc:
            raise self._unavailable(exc) from exc
        return held, confirmed

    # Removals Redis could not take at the time (see the module docstring).

    def remove_or_defer(self, home_account_id: str, reason: str) -> bool:
        try:
            return self.remove(home_account_id)
        except StoreUnavailable:
            self._defer_removal(home_account_id, reason)
            return False

    def _defer_removal(self, home_account_id: str, reason: str) -> None:
        """Record the removal for when Redis answers; return once every host will see it."""
        using = router.db_for_write(PendingRemoval)
        try:
            with transaction.atomic(using=using):
                # A new row (a new pk) each time, so an older application cannot delete it.
                PendingRemoval.objects.filter(home_account_id=home_account_id).delete()
                PendingRemoval.objects.create(home_account_id=home_account_id, reason=reason)
        except DatabaseError as exc:
            raise StoreUnavailable(
                f"Neither Redis nor the database could record the logout: {exc}"
            ) from exc
        pending.suspect()
        logger.warning(
            "Redis is unavailable: the removal of account %s is recorded and will be "
            "applied as soon as Redis answers.",
            home_account_id,
        )
        # Every process looks at the records at least this often before reading Redis:
        # once it has passed after the commit, no read anywhere can miss this one.
        wait = msal_settings.REDIS_PENDING_CHECK_INTERVAL + _RECHECK_MARGIN
        transaction.on_commit(lambda: time.sleep(wait), using=using)


def apply_pending_removals(batch_size: int = 500) -> int:
    """Apply every removal recorded while Redis was unavailable; returns how many.

    Sends ``account_removed`` for each, once (whichever process deletes the record).
    Raises ``StoreUnavailable`` if Redis is still unavailable. With
    ``REDIS_WAIT_REPLICAS``, a batch waits for one ``WAIT`` per server, and a removal the
    replicas do not confirm is gone from the primary (reads may go on) and kept.
    """
    return _apply_pending(batch_size, wait=True)[0]


def _apply_pending(batch_size: int, *, wait: bool) -> tuple[int, int]:
    """(removals applied, removals kept). With ``wait=False`` the keys only leave the
    primary (all a read needs), and the removals stay recorded until a ``WAIT`` confirms
    them."""
    using = router.db_for_write(PendingRemoval)
    applied = kept = last = 0
    while True:
        try:
            records = PendingRemoval.objects.using(using).filter(pk__gt=last).order_by("pk")
            batch = list(records[:batch_size])
        except DatabaseError as exc:
            raise StoreUnavailable(f"The database is unavailable: {exc}") from exc
        held, confirmed = redis_store._delete([r.home_account_id for r in batch], wait=wait)
        for record in batch:
            token_memory.forget(record.home_account_id)
        if confirmed:
            # Their records go next: another process that finds one gone must already be
            # unable to serve the tokens from memory (its proofs from now on cover this
            # delete). A record kept is applied again by every process that looks.
            settle()
        for record in batch:
            last = record.pk
            if record.home_account_id not in confirmed:
                kept += 1  # a failover could bring it back: applied again until confirmed
                continue
            accounts = CachedAccount.objects.using(using).filter(
                home_account_id=record.home_account_id
            )
            user = accounts.select_related("user").first()
            with transaction.atomic(using=using):
                rows, _ = accounts.delete()
            deleted, _ = PendingRemoval.objects.using(using).filter(pk=record.pk).delete()
            if deleted and (record.home_account_id in held or rows):
                applied += 1
                logger.info(
                    "Applied the recorded removal of account %s (%s).",
                    record.home_account_id,
                    record.reason,
                )
                send_account_removed(
                    RedisStore,
                    record.home_account_id,
                    user=user.user if user is not None else None,
                    reason=record.reason,
                )
        if len(batch) < batch_size:
            return applied, kept


class _PendingRemovals:
    """This process's view of the ``PendingRemoval`` records (see the module docstring)."""

    def __init__(self) -> None:
        self._checked_at = float("-inf")  # monotonic time the last look started
        self._suspect = True  # look before the first read
        self._lock = threading.Lock()

    def suspect(self) -> None:
        """Redis failed or a removal was recorded: look again before the next read."""
        self._suspect = True

    def _due(self, now: float) -> bool:
        interval = msal_settings.REDIS_PENDING_CHECK_INTERVAL
        return self._suspect or now - self._checked_at >= interval

    def before_read(self) -> None:
        now = time.monotonic()
        if not self._due(now):  # the hot path
            return
        with self._lock:
            # A look that started less than the interval before this read and ended
            # while it waited will do: looking again would queue each read behind a
            # look of its own.
            if not self._due(now):
                return
            started = time.monotonic()
            self._suspect = False
            try:
                # What reads need: the keys gone from the primary. The replicas confirm
                # after, with no other read of this process waiting for that.
                kept = _apply_pending(500, wait=False)[1]
            except BaseException:
                self._suspect = True
                raise
            self._checked_at = started
        if kept:
            # Best effort: the keys are gone from the primary; the read goes on.
            with contextlib.suppress(StoreUnavailable, DatabaseError):
                apply_pending_removals()


pending = _PendingRemovals()
redis_store = RedisStore()
