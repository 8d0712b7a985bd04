"""What an administrator does to an account at Entra ID, and how the provider then answers.

- ``disable`` (the user's *Account enabled* switched off): refresh tokens, sign-in and
  on-behalf-of are refused with AADSTS50057;
- ``revoke_sessions`` (Graph's ``revokeSignInSessions``): refresh tokens issued before are
  refused with AADSTS50173 and the provider's sessions end;
- ``reset_password``: the same with AADSTS50133.

Each is recorded with its time: the Graph-like API answers a Continuous Access Evaluation
challenge to a ``cp1`` token issued before it (``cae_challenge``). Sources: Microsoft
Learn, "Microsoft Entra authentication and authorization error codes" (AADSTS50057,
AADSTS50133, AADSTS50173) and "How to use Continuous Access Evaluation enabled APIs in
your applications" (the ``insufficient_claims`` challenge and its ``claims``).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from .records import OAuthError
from .state import ProviderState

DISABLED = "AADSTS50057: The user account is disabled."
REVOKED = (
    "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth "
    "token is needed. The user might have changed or reset their password."
)
PASSWORD_RESET = "AADSTS50133: Session is invalid due to expiration or recent password change."
# Microsoft Graph's client id, and the authorize URI its challenges name (Microsoft Learn's
# CAE examples show both, quoted, before ``error`` and ``claims``).
GRAPH_CLIENT_ID = "00000003-0000-0000-c000-000000000000"
CHALLENGE_AUTHORIZATION_URI = "https://login.microsoftonline.com/common/oauth2/authorize"
CAE_CAPABILITY = "cp1"


def disable(state: ProviderState, username: str) -> None:
    with state.lock:
        state.disabled.add(username)
        state.account_events[username] = time.time()
        _end_sessions(state, username)


def enable(state: ProviderState, username: str) -> None:
    with state.lock:
        state.disabled.discard(username)


def revoke_sessions(state: ProviderState, username: str, *, password: bool = False) -> int:
    """Revoke the user's refresh tokens and sessions; how many tokens."""
    with state.lock:
        count = state.revoke_refresh_tokens(username)
        for token in state.refresh_tokens.values():
            if token.username == username and password:
                token.revocation = "password"
        state.account_events[username] = time.time()
        return count


def _end_sessions(state: ProviderState, username: str) -> None:
    for session in state.sessions.values():
        if session.username == username:
            session.active = False


def refuse_if_disabled(state: ProviderState, username: str, *, page: bool = False) -> None:
    """A disabled account's grant is ``invalid_grant``; its sign-in, an error page."""
    if username in state.disabled:
        raise OAuthError("access_denied" if page else "invalid_grant", DISABLED, page=page)


def revocation_message(revocation: str) -> str:
    return PASSWORD_RESET if revocation == "password" else REVOKED


def claims_request(value: str | None) -> dict[str, Any]:
    """The token request's ``claims`` (capabilities, a challenge's claims), or ``{}``:
    a malformed one is ignored, as the provider cannot satisfy it anyway."""
    if not value or len(value) > 8192:
        return {}
    try:
        claims = json.loads(value)
    except (ValueError, RecursionError):
        return {}
    return claims if isinstance(claims, dict) else {}


def declares_cae(claims: dict[str, Any]) -> bool:
    """MSAL sends a client's ``client_capabilities`` as
    ``{"access_token": {"xms_cc": {"values": ["cp1"]}}}`` in ``claims``."""
    access_token = claims.get("access_token")
    xms_cc = access_token.get("xms_cc") if isinstance(access_token, dict) else None
    values = xms_cc.get("values") if isinstance(xms_cc, dict) else None
    return isinstance(values, list) and CAE_CAPABILITY in values


def cae_challenge(state: ProviderState, username: str, claims: dict[str, Any]) -> str | None:
    """The ``WWW-Authenticate`` value a CAE-enabled API answers a ``cp1`` token issued
    before the account's latest event with; None if the token still stands."""
    xms_cc = claims.get("xms_cc")
    if not (isinstance(xms_cc, list) and CAE_CAPABILITY in xms_cc):
        return None  # not CAE-capable: accepted until it expires, as Entra does
    with state.lock:
        event = state.account_events.get(username)
        minted = state.minted_at.get(str(claims.get("uti")))
    # To the sub-second when the provider minted it (a token issued in the event's second,
    # before it, is challenged; one issued after it, even in that second, stands), else
    # whole seconds (``iat``: a token a test forged or backdated).
    iat = float(claims.get("iat", 0))
    issued = minted if minted is not None and int(minted) == int(iat) else iat
    if event is None or issued >= event:
        return None
    wanted = {"access_token": {"nbf": {"essential": True, "value": str(int(event))}}}
    encoded = base64.b64encode(json.dumps(wanted).encode()).decode()  # standard, padded
    return (
        f'Bearer realm="", authorization_uri="{CHALLENGE_AUTHORIZATION_URI}", '
        f'client_id="{GRAPH_CLIENT_ID}", error="insufficient_claims", claims="{encoded}"'
    )


class AccountEvents:
    """``IdentityProvider``'s account events: what an administrator does at Entra ID."""

    _state: ProviderState

    def disable_user(self, username: str) -> None:
        """Switch the user's account off: their refresh tokens, sign-ins and on-behalf-of
        exchanges are refused (AADSTS50057); a ``cp1`` token is challenged by the API."""
        disable(self._state, username)

    def enable_user(self, username: str) -> None:
        """Switch it on again (refresh tokens revoked meanwhile stay revoked)."""
        enable(self._state, username)

    def revoke_sessions(self, username: str) -> int:
        """Graph's ``revokeSignInSessions``: every refresh token and sign-in session of the
        user ends (AADSTS50173); returns how many refresh tokens were revoked."""
        return revoke_sessions(self._state, username)

    def reset_password(self, username: str) -> int:
        """An admin resets the password: as ``revoke_sessions``, refused with AADSTS50133."""
        return revoke_sessions(self._state, username, password=True)

    def revoke_refresh_tokens(self, username: str) -> int:
        """Revoke every refresh token (and end every sign-in session) of a user, with no
        event for CAE. Returns how many refresh tokens were revoked."""
        return self._state.revoke_refresh_tokens(username)

    @property
    def cae_access_token_lifetime(self) -> int:
        """Seconds an access token issued to a ``cp1`` client lives (Entra: up to 28 h)."""
        return self._state.cae_access_token_lifetime

    @cae_access_token_lifetime.setter
    def cae_access_token_lifetime(self, seconds: int) -> None:
        self._state.cae_access_token_lifetime = seconds
