"""The authorization code redeemed with MSAL, and the sign-in's tokens stored; before
they are, ``SignInTokens`` serves them to the sign-in's own checks (group overage)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.views.decorators.debug import sensitive_variables
from msal.oauth2cli.oidc import IdTokenError

from msal_django import credentials, msal_app, tokens
from msal_django.exceptions import ProviderError
from msal_django.redact import Secret, describe
from msal_django.stores import AccountInfo, get_store

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


@dataclass(frozen=True, slots=True)
class Redeemed:
    """A redeemed authorization code: the ID token's claims and the account's tokens."""

    claims: dict[str, Any]
    home_account_id: str
    state: str = field(repr=False)  # MSAL's serialized cache: tokens


@dataclass(frozen=True, slots=True)
class NotRedeemed:
    """The code could not be redeemed; ``error`` says why (an OAuth error or our own)."""

    error: str


@sensitive_variables()  # codes, the PKCE verifier and tokens
def redeem(flow: dict[str, Any], response: dict[str, str]) -> Redeemed | NotRedeemed:
    """Exchange the code with this thread's MSAL app, on an empty cache of its own.

    Raises ``ProviderError`` when the provider cannot be reached.
    """
    with msal_app.app_holding(None) as app:
        try:
            result = app.acquire_token_by_auth_code_flow(flow, response)
        except ValueError:  # MSAL: the response does not match the flow (state)
            return NotRedeemed("invalid_state")
        except IdTokenError:  # a wrong nonce, audience or issuer in the ID token
            return NotRedeemed("invalid_id_token")
        except msal_app.TRANSIENT_ERRORS as exc:
            raise ProviderError(describe(exc), transient=True) from None  # code, verifier
        except ProviderError as exc:  # the app's credential, from inside MSAL's frames
            raise exc.detached() from None
        if "error" in result:
            refusal = credentials.refused(result)
            if refusal is not None:
                raise refusal
            return NotRedeemed(str(result["error"]))
        accounts = app.get_accounts()
        if len(accounts) != 1:
            return NotRedeemed("no_account")
        return Redeemed(
            claims=result.get("id_token_claims") or {},
            home_account_id=accounts[0]["home_account_id"],
            state=Secret(app.token_cache.serialize()),
        )


@sensitive_variables()
def store_sign_in(redeemed: Redeemed, user: AbstractBaseUser) -> None:
    """Store a sign-in's tokens for ``user``, replacing the account's (they are the newest).

    Raises ``StoreUnavailable`` when the store does not answer.
    """
    claims = redeemed.claims
    info = AccountInfo(
        username=str(claims.get("preferred_username", "")), tenant_id=str(claims.get("tid", ""))
    )
    get_store().replace(redeemed.home_account_id, redeemed.state, user, info)


class SignInTokens:
    """The tokens a sign-in just earned, before they are stored: what the overage is
    resolved with. ``state`` is what the callback stores (with any token acquired here)."""

    def __init__(self, home_account_id: str, state: str) -> None:
        self.home_account_id = home_account_id
        self.state = state

    def acquire(self, scopes: Iterable[str]) -> str:
        token, new_state = tokens.acquire_from_state(self.state, self.home_account_id, scopes)
        if new_state is not None:
            self.state = new_state
        return token
