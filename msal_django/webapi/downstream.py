"""Tokens this site's API gets for downstream APIs: on behalf of its caller (OAuth 2.0
on-behalf-of), or as itself (client credentials). Both are cached in the configured
store (encrypted, compare-and-set), beside the sign-in partitions, in partitions of
their own:

- ``obo:<CLIENT_ID>:<oid>.<tid>``: one per *caller*, never one per incoming token.
  Microsoft.Identity.Web keys its OBO cache by a hash of the incoming token, so each
  new token a client sends (every hour or so) starts a new entry, and users reported
  those caches growing without bound (its later ``SuggestedCacheExpiry`` and
  ``L1ExpirationTimeRatio`` are the mitigation). Here a caller's next token finds the
  same partition, MSAL replaces the access tokens it refreshes inside it, and the
  partition lives as long as a sign-in partition: Redis keys expire after
  ``REFRESH_TOKEN_LIFETIME`` + ``REDIS_TTL_MARGIN`` without a write, and
  ``msal_purge --expired`` removes database rows whose refresh token has expired. A
  logout of the user (local, front-channel, back-channel, admin revoke of their
  account) removes it.
- ``app:<CLIENT_ID>:<tenant>``: one per tenant and client for app-only tokens.

A cache hit is served like ``get_token``'s (``msal_django.stores.token_memory``): a token this
process remembers after one read of the partition's version, else one store read and
MSAL's own lookup; no call to the provider, no write. App-only tokens take the full path.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.views.decorators.debug import sensitive_variables

from msal_django import credentials, msal_app
from msal_django.conf import msal_settings
from msal_django.exceptions import ProviderError
from msal_django.redact import Secret, describe
from msal_django.signout.removal import obo_partition_id
from msal_django.stores import get_store
from msal_django.stores.base import AccountInfo, Partition, TokenStore
from msal_django.tokens import api_scopes, masked, raise_for
from msal_django.tokens.access_token import access_token
from msal_django.tokens.served import Recall, remember, served
from msal_django.webapi.bearer import AccessToken

if TYPE_CHECKING:
    from django.http import HttpRequest

logger = logging.getLogger("msal_django")


APP_PREFIX = "app"
# Where require_token and BearerTokenAuthentication keep the caller's token (a Secret),
# and who the caller is (``caller_account_id`` of ``MsalBackend.identity_key``, worked
# out once when the request is admitted).
BEARER_TOKEN_ATTRIBUTE = "_msal_django_bearer_token"
CALLER_ACCOUNT_ATTRIBUTE = "_msal_django_caller_account"


def app_partition_id(tenant: str) -> str:
    return f"{APP_PREFIX}:{msal_settings.CLIENT_ID}:{tenant}"


@sensitive_variables()
def get_token_on_behalf_of(request: HttpRequest, scopes: Iterable[str]) -> str:
    """An access token for a downstream API, for the caller of this API.

    ``request`` is one ``require_token`` or ``BearerTokenAuthentication`` admitted with
    a delegated token (``ValueError`` otherwise: an app-only caller has no user to act
    for). Served from the caller's partition when a valid token is there (no provider
    call); else MSAL refreshes it, or redeems the caller's token on behalf of them
    (``acquire_token_on_behalf_of``). Raises ``InteractionRequired`` when the user must
    consent or satisfy a policy (``require_token`` answers 403 ``interaction_required``
    with the scopes and claims), ``ProviderError`` and ``StoreUnavailable`` as ``get_token``.
    """
    scopes = api_scopes(scopes)
    target = getattr(request, "_request", request)
    assertion = getattr(target, BEARER_TOKEN_ATTRIBUTE, None)
    claims = getattr(target, "msal_claims", None)
    account_id = getattr(target, CALLER_ACCOUNT_ATTRIBUTE, None)
    if assertion is None or not isinstance(claims, dict):
        raise ValueError(
            "get_token_on_behalf_of needs a request admitted by require_token or "
            "BearerTokenAuthentication."
        )
    token = AccessToken(claims)
    if not token.delegated or account_id is None:
        raise ValueError("An app-only caller has no user to act for: use get_app_token.")
    partition_id = obo_partition_id(account_id)
    username = claims.get("preferred_username") or claims.get("upn")
    info = AccountInfo(
        username=username if isinstance(username, str) else "", tenant_id=token.tenant_id
    )
    store = get_store()
    # As get_token: a remembered token after one read of the version (a logout of the
    # caller removes the partition), else one full path per caller at a time.
    return served(
        store,
        partition_id,
        scopes,
        None,
        lambda recall: _on_behalf_of(store, recall, partition_id, scopes, assertion, info),
    )


@sensitive_variables()
def _on_behalf_of(
    store: TokenStore,
    recall: Recall | None,
    partition_id: str,
    scopes: list[str],
    assertion: object,
    info: AccountInfo,
) -> str:
    """The caller's partition read, then MSAL: a cached token, a refresh, or the exchange."""
    partition = store.load(partition_id)
    if partition.state is not None:
        result, new_state = _run(partition.state, lambda app: _cached(app, scopes))
        if result and "access_token" in result:
            version = partition.version
            if new_state is not None:
                # Lost to a newer write (None): ours is valid too, but not that version's.
                version = store.save(partition, new_state)
            if recall is not None and version is not None:
                remember(recall, partition_id, version, scopes, result)
            return access_token(result)
    result, new_state = _run(
        partition.state, lambda app: app.acquire_token_on_behalf_of(str(assertion), scopes)
    )
    if not result or "access_token" not in result:
        raise_for(result, scopes)
    if new_state is not None:
        _write(partition, new_state, info)
    return access_token(result)


def _cached(app: Any, scopes: list[str]) -> dict[str, Any] | None:
    """MSAL's silent lookup for the one account a caller's partition holds (the caller
    as the provider's answers named them), refreshing if it must."""
    accounts = app.get_accounts()
    if len(accounts) != 1:
        return None
    result: dict[str, Any] | None = app.acquire_token_silent_with_error(scopes, accounts[0])
    return result


@sensitive_variables()
def get_app_token(scopes: Iterable[str]) -> str:
    """An app-only access token (client credentials) for ``scopes``, e.g.
    ``["https://graph.microsoft.com/.default"]``, from the configured authority's tenant.

    Cached in the store, one partition per tenant and client: a valid cached token costs
    no provider call. Raises ``ProviderError`` when the provider refuses or fails.
    """
    scopes = api_scopes(scopes)
    app = msal_app.get_app()
    tenant = str(getattr(app.authority, "tenant", "") or "default")
    store = get_store()
    partition = store.load(app_partition_id(tenant))
    result, new_state = _run(partition.state, lambda app: app.acquire_token_for_client(scopes))
    if not result or "access_token" not in result:
        error = str((result or {}).get("error", "no_token"))
        refusal = credentials.refused(result or {})
        if refusal is not None:
            raise refusal
        raise ProviderError(
            f"The identity provider refused an app token: {error}",
            error=error,
            transient=error in {"temporarily_unavailable", "server_error"},
        )
    if new_state is not None:
        _write(
            partition,
            new_state,
            AccountInfo(username=f"app {msal_settings.CLIENT_ID}", tenant_id=tenant),
        )
    return access_token(result)


@sensitive_variables()
def _write(partition: Partition, state: str, info: AccountInfo) -> None:
    store = get_store()
    if partition.exists:
        store.save(partition, state)  # lost to a newer write: ours is valid too, keep theirs
    else:
        store.replace(partition.home_account_id, state, None, info)


@sensitive_variables()
def _run(state: str | None, call: Any) -> tuple[dict[str, Any] | None, str | None]:
    """``call(app)`` on this thread's MSAL app holding ``state``; its (masked) result
    and the new state if MSAL changed it."""
    app = msal_app.get_app()
    cache = app.token_cache
    cache.deserialize(state)
    try:
        try:
            result = call(app)
        except msal_app.TRANSIENT_ERRORS as exc:
            raise ProviderError(
                f"The identity provider could not be reached: {describe(exc)}", transient=True
            ) from None
        except ProviderError as exc:  # the app's credential, from inside MSAL's frames
            raise exc.detached() from None
        return masked(result), (Secret(cache.serialize()) if cache.has_state_changed else None)
    finally:
        cache.deserialize(None)
