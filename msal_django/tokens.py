"""``get_token``: load the user's partition, acquire silently, save only if MSAL changed it."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NoReturn

from . import client
from .exceptions import InteractionRequired, ProviderError
from .logout import SESSION_ACCOUNT_KEY, remove_account
from .stores import get_store

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


def get_token(request: HttpRequest, scopes: Iterable[str]) -> str:
    """An access token for the signed-in user and ``scopes``.

    Served from the user's token cache when one is valid (no network, no write);
    otherwise MSAL refreshes it and the new tokens are saved with compare-and-set.
    Raises ``InteractionRequired`` when the user must sign in or consent again,
    ``ProviderError`` when the provider fails, ``StoreUnavailable`` when the store does.
    """
    scopes = list(scopes)
    user = getattr(request, "user", None)
    home_account_id = request.session.get(SESSION_ACCOUNT_KEY) if user else None
    if not home_account_id or not user or not user.is_authenticated:
        raise InteractionRequired(scopes, error="not_signed_in")
    return acquire(home_account_id, scopes, user=user)


def acquire(
    home_account_id: str, scopes: list[str], *, user: AbstractBaseUser | None = None
) -> str:
    """``get_token`` for an account id, without a request (background jobs)."""
    store = get_store()
    partition = store.load(home_account_id, user.pk if user is not None else None)
    if partition.state is None:
        raise InteractionRequired(scopes, error="no_cached_tokens")
    app = client.get_app()
    cache = app.token_cache
    cache.deserialize(partition.state)
    try:
        account = {"home_account_id": home_account_id, "environment": app.authority.instance}
        try:
            result = app.acquire_token_silent_with_error(scopes, account)
        except client.TRANSIENT_ERRORS as exc:
            raise ProviderError(
                f"The identity provider could not be reached: {type(exc).__name__}",
                transient=True,
            ) from exc
        if result and "access_token" in result:
            if cache.has_state_changed and not store.save(partition, cache.serialize()):
                _lost_race(store, home_account_id, scopes)
            return str(result["access_token"])
        _raise_for(result, home_account_id, scopes, user)
    finally:
        cache.deserialize(None)  # keep no tokens in this thread's memory between calls


def _lost_race(store: Any, home_account_id: str, scopes: list[str]) -> None:
    # Another request wrote the partition since we loaded it, or logout removed it.
    if not store.load(home_account_id).exists:
        raise InteractionRequired(scopes, error="signed_out")
    # Newer tokens are stored; ours is valid too, and the newer ones are kept.


def _raise_for(
    result: dict[str, Any] | None,
    home_account_id: str,
    scopes: list[str],
    user: AbstractBaseUser | None,
) -> NoReturn:
    if not result:
        raise InteractionRequired(scopes, error="no_token_in_cache")
    error = str(result.get("error", ""))
    suberror = result.get("suberror")
    if error in _TRANSIENT_ERRORS:
        raise ProviderError(f"The identity provider answered {error}", error=error, transient=True)
    if error == "invalid_grant" and suberror not in _FIXABLE_SUBERRORS:
        # The refresh token is dead (revoked, expired): its tokens are of no more use.
        remove_account(home_account_id, user=user, reason="refresh_token_rejected")
    if error in {"invalid_grant", "interaction_required", "consent_required", "login_required"}:
        raise InteractionRequired(
            scopes, error=suberror or error, claims_challenge=result.get("claims")
        )
    raise ProviderError(
        f"The identity provider refused to issue a token: {error}", error=error, transient=False
    )
