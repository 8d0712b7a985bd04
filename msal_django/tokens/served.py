"""A cache hit: a token this process remembers, served with no read or after one.

``served`` is the hot path of ``get_token`` and ``get_token_on_behalf_of``. A token
remembered for the partition (``msal_django.stores.token_memory``) is served:

- with no read at all while the store's watch proves this process has seen every
  change of the store (``msal_django.stores.watch``: PostgreSQL and Redis), and the
  token was remembered under that proof's connection with no change seen since;
- otherwise after one read of the partition's version, which must still be the one the
  token came from (and, with a user, the partition must still be theirs).

Anything else takes the ``full_path`` (load, MSAL, maybe a refresh), one request of
the partition at a time in this process; it remembers what it served through a
``Recall``, stamped before the partition was loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from msal_django.stores import TokenStore, token_memory
from msal_django.stores.watch import Stamp, Watch
from msal_django.tokens.access_token import access_token


@dataclass(frozen=True, slots=True)
class Recall:
    """Where a full path remembers what it served: the memory, and the watch's stamp
    taken before the partition was loaded (a change after it keeps the token off the
    no-read path)."""

    memory: token_memory.TokenMemory
    watch: Watch | None = None
    stamp: Stamp | None = None
    owner: Any = None  # the user the partition was read for (None: not checked)

    def keep(self, home_account_id: str, remembered: token_memory.Remembered) -> None:
        if self.watch is None or self.stamp is None:
            self.memory.remember(home_account_id, remembered)
            return
        self.watch.keep(
            self.stamp,
            home_account_id,
            lambda epoch: self.memory.remember(
                home_account_id, replace(remembered, epoch=epoch, owner=self.owner)
            ),
        )


def served(
    store: TokenStore,
    partition_id: str,
    scopes: list[str],
    user_id: Any,
    full_path: Callable[[Recall | None], str],
    *,
    fresh: bool = False,
) -> str:
    """A token this process remembers for the partition (see the module docstring);
    otherwise ``full_path(recall)``, one request of the partition at a time in this
    process (a waiting request re-checks the memory first). ``fresh``: never the
    remembered token (a claims challenge refused it)."""
    memory = token_memory.memory()
    wanted = frozenset(scopes)
    watch = store.watch() if memory is not None else None
    if memory is not None and not fresh:
        token = _remembered(memory, watch, store, partition_id, wanted, user_id)
        if token is not None:
            return token
    with token_memory.one_at_a_time(partition_id):
        if memory is None:
            return full_path(None)
        if not fresh:
            # The request this one waited for may have just stored what it needs.
            token = _remembered(memory, watch, store, partition_id, wanted, user_id)
            if token is not None:
                return token
        stamp = watch.stamp() if watch is not None else None
        return full_path(Recall(memory, watch, stamp, user_id))


def _remembered(
    memory: token_memory.TokenMemory,
    watch: Watch | None,
    store: TokenStore,
    home_account_id: str,
    scopes: frozenset[str],
    user_id: Any,
) -> str | None:
    # The proof first, then the lookup: a change that arrived before the proof has
    # already forgotten its tokens (stores/watch.py).
    epoch = watch.proven_epoch() if watch is not None else 0
    remembered = memory.lookup(home_account_id, scopes)
    if remembered is None:
        return None
    if epoch and remembered.epoch == epoch and user_id in (None, remembered.owner):
        return remembered.token
    stamp = watch.stamp() if watch is not None else None
    # The authoritative read: a removed or rewritten partition no longer matches.
    if store.version(home_account_id, user_id) != remembered.version:
        return None
    if watch is not None and stamp is not None:
        watch.keep(
            stamp,
            home_account_id,
            lambda epoch: memory.trust(home_account_id, remembered, epoch, user_id),
        )
    return remembered.token


def remember(
    recall: Recall,
    home_account_id: str,
    version: str,
    scopes: list[str],
    result: dict[str, Any],
) -> None:
    """Remember what MSAL returned from (or wrote as) ``version`` of the partition."""
    wanted = frozenset(scopes)
    granted = frozenset(str(result.get("scope") or "").split())
    # From the provider, MSAL stored it under the scopes granted, which may be fewer.
    if result.get("token_source") != "cache" and not wanted <= granted:
        return
    try:
        int(result["expires_in"])
    except (KeyError, TypeError, ValueError):
        return  # not what MSAL returns for a user's token: leave it to MSAL each time
    token = access_token(result)
    recall.keep(
        home_account_id,
        token_memory.Remembered(version, wanted, token, token.expires_on, token.refresh_on),
    )
