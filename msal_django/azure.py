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

from msal_django.tokens.sources import AppTokens, OnBehalfOfTokens, RequestTokens, UserTokens

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
    """What the eight credentials share: the SDK's two methods over one ``_token``."""

    def token(self, scopes: list[str], claims: str | None) -> str:
        raise NotImplementedError  # a TokenSource's, first in the bases

    def tenant(self) -> str | None:
        raise NotImplementedError

    @staticmethod
    def _scopes(scopes: Iterable[str]) -> list[str]:
        wanted = [str(scope) for scope in scopes]
        if not wanted:
            raise ValueError("Give at least one scope, e.g. https://graph.microsoft.com/.default")
        return wanted

    def _check_tenant(self, tenant_id: str) -> None:
        """A token of another tenant than the account's would need a sign-in there."""
        tenant = self.tenant()
        if tenant is None or tenant.lower() != str(tenant_id).lower():
            raise ClientAuthenticationError(
                message=f"{type(self).__name__} gives tokens of tenant {tenant or '(none)'}, "
                f"not {tenant_id}: a token of another tenant needs a sign-in there."
            )

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class _SyncCredential(_Credential):
    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        if tenant_id:
            self._check_tenant(tenant_id)
        token = self.token(self._scopes(scopes), claims or None)
        return AccessToken(token, int(getattr(token, "expires_on", 0)))

    def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        options = options or {}
        if options.get("tenant_id"):
            self._check_tenant(str(options.get("tenant_id")))
        return _info(self.token(self._scopes(scopes), options.get("claims") or None))

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
    async def atoken(self, scopes: list[str], claims: str | None) -> str:
        return await sync_to_async(self.token)(scopes, claims)

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        if tenant_id:
            await sync_to_async(self._check_tenant)(tenant_id)
        token = await self.atoken(self._scopes(scopes), claims or None)
        return AccessToken(token, int(getattr(token, "expires_on", 0)))

    async def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        options = options or {}
        if options.get("tenant_id"):
            await sync_to_async(self._check_tenant)(str(options.get("tenant_id")))
        return _info(await self.atoken(self._scopes(scopes), options.get("claims") or None))

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


class RequestCredential(RequestTokens, _SyncCredential):
    """Tokens of the request's signed-in user, as ``get_token(request, scopes)``."""


class AsyncRequestCredential(RequestTokens, _AsyncCredential):
    """``RequestCredential`` for async views."""


class UserCredential(UserTokens, _SyncCredential):
    """Tokens of ``user`` without a request (jobs, tasks), as ``get_token_for_user``."""


class AsyncUserCredential(UserTokens, _AsyncCredential):
    """``UserCredential`` for async code."""


class OnBehalfOfCredential(OnBehalfOfTokens, _SyncCredential):
    """Tokens for the web API's caller, as ``get_token_on_behalf_of(request, scopes)``."""


class AsyncOnBehalfOfCredential(OnBehalfOfTokens, _AsyncCredential):
    """``OnBehalfOfCredential`` for async views."""


class AppCredential(AppTokens, _SyncCredential):
    """The app's own tokens (client credentials), as ``get_app_token(scopes)``."""


class AsyncAppCredential(AppTokens, _AsyncCredential):
    """``AppCredential`` for async code."""
