"""Credentials for the Azure SDKs and Microsoft Graph's SDK (``msgraph-sdk``).

Each is an ``azure.core`` credential (``TokenCredential`` and ``SupportsTokenInfo``; the
``Async...`` ones ``AsyncTokenCredential`` and ``AsyncSupportsTokenInfo``) whose tokens
come from this package's token functions, so they are served from the same caches,
refreshed the same way, and refused the same way after a logout:

=====================================  ==============================================
``RequestCredential(request)``         the request's signed-in user (``get_token``)
``UserCredential(user)``               a user, no request (``get_token_for_user``)
``OnBehalfOfCredential(request)``      the web API's caller (``get_token_on_behalf_of``)
``AppCredential()``                    the app itself (``get_app_token``)
=====================================  ==============================================

Each returns the token's real expiry (and ``refresh_on`` where MSAL has one). ``claims``
(a Continuous Access Evaluation challenge, which the SDK pipelines pass on a ``401``)
takes the path of ``get_token(..., claims_challenge=...)``: no cached token, MSAL asks
the provider with the claims, and a refusal raises ``InteractionRequired`` carrying them.
``tenant_id`` other than the account's is refused; ``enable_cae`` is accepted (the app
declares CAE once, with ``CLIENT_CAPABILITIES``). ``close()`` leaves a credential usable.
The async ones run the store and MSAL off the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any

try:
    from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
    from azure.core.exceptions import ClientAuthenticationError
except ImportError as exc:  # pragma: no cover - exercised by a test without azure-core
    raise ImportError(
        "msal_django.azure needs azure-core: pip install 'msal-django[azure]'"
    ) from exc

from asgiref.sync import sync_to_async
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from msal_django.tokens.sources import (
    AppTokens,
    OnBehalfOfTokens,
    RequestTokens,
    TokenSource,
    UserTokens,
)

__all__ = [
    "AppCredential",
    "AsyncAppCredential",
    "AsyncOnBehalfOfCredential",
    "AsyncRequestCredential",
    "AsyncUserCredential",
    "OnBehalfOfCredential",
    "RequestCredential",
    "UserCredential",
]


class _TokenInfo(AccessTokenInfo):
    """azure-core's ``AccessTokenInfo``, whose ``repr`` (error pages, reports) hides the
    token as every other ``repr`` of this package does."""

    def __repr__(self) -> str:
        return (
            f"AccessTokenInfo(token='********', expires_on={self.expires_on}, "
            f"token_type='{self.token_type}', refresh_on={self.refresh_on})"
        )


def _info(token: str) -> _TokenInfo:
    refresh_on = getattr(token, "refresh_on", None)
    return _TokenInfo(
        token,
        int(getattr(token, "expires_on", 0)),
        refresh_on=None if refresh_on is None else int(refresh_on),
    )


class _Credential:
    """What the eight credentials share: the SDK's two methods over one ``TokenSource``
    (whose tokens: ``msal_django.tokens.sources``)."""

    def __init__(self, source: TokenSource) -> None:
        self.source = source

    @staticmethod
    def _scopes(scopes: Iterable[str]) -> list[str]:
        wanted = [str(scope) for scope in scopes]
        if not wanted:
            raise ValueError("Give at least one scope, e.g. https://graph.microsoft.com/.default")
        return wanted

    def _check_tenant(self, tenant_id: str | None) -> None:
        """A token of another tenant than the account's would need a sign-in there."""
        if not tenant_id:
            return
        tenant = self.source.tenant()
        if tenant is None or tenant.lower() != str(tenant_id).lower():
            raise ClientAuthenticationError(
                message=f"{type(self).__name__} gives tokens of tenant {tenant or '(none)'}, "
                f"not {tenant_id}: a token of another tenant needs a sign-in there."
            )

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class _SyncCredential(_Credential):
    def _token(self, scopes: Iterable[str], claims: Any, tenant_id: Any) -> str:
        self._check_tenant(tenant_id)
        return self.source.token(self._scopes(scopes), claims or None)

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        token = self._token(scopes, claims, tenant_id)
        return AccessToken(token, int(getattr(token, "expires_on", 0)))

    def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        options = options or {}
        return _info(self._token(scopes, options.get("claims"), options.get("tenant_id")))

    def close(self) -> None:
        """Nothing to release: the credential stays usable (kiota closes it per call)."""

    def __enter__(self) -> _SyncCredential:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class _AsyncCredential(_Credential):
    async def _token(self, scopes: Iterable[str], claims: Any, tenant_id: Any) -> str:
        """The store and MSAL off the event loop (the tenant check may read the store)."""
        if tenant_id:
            await sync_to_async(self._check_tenant)(tenant_id)
        wanted = self._scopes(scopes)
        atoken = getattr(self.source, "atoken", None)  # the request's: request.auser()
        if atoken is not None:
            token: str = await atoken(wanted, claims or None)
            return token
        return await sync_to_async(self.source.token)(wanted, claims or None)

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        token = await self._token(scopes, claims, tenant_id)
        return AccessToken(token, int(getattr(token, "expires_on", 0)))

    async def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        options = options or {}
        return _info(await self._token(scopes, options.get("claims"), options.get("tenant_id")))

    async def close(self) -> None:
        """Nothing to release: the credential stays usable (kiota closes it per call)."""

    async def __aenter__(self) -> _AsyncCredential:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


class RequestCredential(_SyncCredential):
    """Tokens of the request's signed-in user, as ``get_token(request, scopes)``."""

    def __init__(self, request: HttpRequest) -> None:
        super().__init__(RequestTokens(request))


class AsyncRequestCredential(_AsyncCredential):
    """``RequestCredential`` for async views."""

    def __init__(self, request: HttpRequest) -> None:
        super().__init__(RequestTokens(request))


class UserCredential(_SyncCredential):
    """Tokens of ``user`` without a request (jobs, tasks), as ``get_token_for_user``."""

    def __init__(self, user: AbstractBaseUser, *, home_account_id: str | None = None) -> None:
        super().__init__(UserTokens(user, home_account_id=home_account_id))


class AsyncUserCredential(_AsyncCredential):
    """``UserCredential`` for async code."""

    def __init__(self, user: AbstractBaseUser, *, home_account_id: str | None = None) -> None:
        super().__init__(UserTokens(user, home_account_id=home_account_id))


class OnBehalfOfCredential(_SyncCredential):
    """Tokens for the web API's caller, as ``get_token_on_behalf_of(request, scopes)``."""

    def __init__(self, request: HttpRequest) -> None:
        super().__init__(OnBehalfOfTokens(request))


class AsyncOnBehalfOfCredential(_AsyncCredential):
    """``OnBehalfOfCredential`` for async views."""

    def __init__(self, request: HttpRequest) -> None:
        super().__init__(OnBehalfOfTokens(request))


class AppCredential(_SyncCredential):
    """The app's own tokens (client credentials), as ``get_app_token(scopes)``."""

    def __init__(self) -> None:
        super().__init__(AppTokens())


class AsyncAppCredential(_AsyncCredential):
    """``AppCredential`` for async code."""

    def __init__(self) -> None:
        super().__init__(AppTokens())
