"""Whose tokens: the request's user, a user, the web API's caller, the app. One source
per kind, each a ``token(scopes, claims)`` over the ``get_token`` family and the tenant
its tokens are of; the Azure SDK credentials (``msal_django.azure``) and the HTTP auth
(``msal_django.http``) are built on them."""

from __future__ import annotations

from typing import Any, Protocol

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from msal_django import msal_app
from msal_django.constants import SESSION_ACCOUNT_KEY
from msal_django.exceptions import InteractionRequired
from msal_django.stores import newest_account_of
from msal_django.tokens import aget_token, get_token, get_token_for_user
from msal_django.webapi.downstream import (
    CALLER_ACCOUNT_ATTRIBUTE,
    get_app_token,
    get_token_on_behalf_of,
)


class TokenSource(Protocol):
    """Whose tokens: ``token`` for ``scopes`` (with a claims challenge's ``claims``), and
    the tenant they are of (None: no tenant to name)."""

    def token(self, scopes: list[str], claims: str | None) -> str: ...

    def tenant(self) -> str | None: ...


def _tenant_of(account: str | None) -> str | None:
    """The tenant of an Entra home account id (``<oid>.<tid>``), else None."""
    if account and "." in account and ":" not in account:
        return account.rsplit(".", 1)[1]
    return None


def _app_tenant() -> str | None:
    """The tenant MSAL found in discovery (the GUID on Entra ID, whatever name the
    authority used): the one ``get_app_token`` keys its partition by too."""
    return str(getattr(msal_app.get_app().authority, "tenant", "") or "") or None


class RequestTokens:
    """The request's signed-in user (``get_token``)."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    def token(self, scopes: list[str], claims: str | None) -> str:
        return get_token(self.request, scopes, claims_challenge=claims)

    async def atoken(self, scopes: list[str], claims: str | None) -> str:
        return await aget_token(self.request, scopes, claims_challenge=claims)

    def tenant(self) -> str | None:
        session: Any = getattr(self.request, "session", None) or {}
        account = session.get(SESSION_ACCOUNT_KEY)
        if account is None:
            user = getattr(self.request, "user", None)
            account = newest_account_of(user) if user is not None and user.pk else None
        return _tenant_of(account)


class UserTokens:
    """A user without a request (``get_token_for_user``)."""

    def __init__(self, user: AbstractBaseUser, *, home_account_id: str | None = None) -> None:
        self.user, self.home_account_id = user, home_account_id

    def token(self, scopes: list[str], claims: str | None) -> str:
        return get_token_for_user(
            self.user, scopes, home_account_id=self.home_account_id, claims_challenge=claims
        )

    def tenant(self) -> str | None:
        return _tenant_of(self.home_account_id or newest_account_of(self.user))


class OnBehalfOfTokens:
    """The web API's caller (``get_token_on_behalf_of``)."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    def token(self, scopes: list[str], claims: str | None) -> str:
        if claims:
            # The downstream API wants claims the caller's token cannot carry: the caller
            # (the app that called this API) must get a new one; pass the challenge back.
            raise InteractionRequired(scopes, error="claims_challenge", claims_challenge=claims)
        return get_token_on_behalf_of(self.request, scopes)

    def tenant(self) -> str | None:
        return _tenant_of(getattr(self.request, CALLER_ACCOUNT_ATTRIBUTE, None))


class AppTokens:
    """The app itself (``get_app_token``)."""

    def token(self, scopes: list[str], claims: str | None) -> str:
        return get_app_token(scopes)

    def tenant(self) -> str | None:
        return _app_tenant()
