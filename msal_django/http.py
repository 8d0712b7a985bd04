"""Auth for plain ``requests`` and ``httpx`` calls to an API: the bearer token of the
request's user (or a user, the web API's caller, the app), and Continuous Access
Evaluation handled the way Microsoft's SDKs handle it.

    response = requests.get(url, auth=TokenAuth.for_request(request, ["User.Read"]))
    response = httpx.get(url, auth=HttpxTokenAuth.for_request(request, ["User.Read"]))

A ``401`` whose ``WWW-Authenticate`` carries a claims challenge (the user was disabled,
their sessions revoked, their IP left a named location) is retried once with a token
obtained with those claims (``get_token(..., claims_challenge=...)``). If the provider
refuses, or the retry is challenged again, ``InteractionRequired`` carries the claims:
``InteractionRequiredMiddleware`` sends the user to sign in with them. Any other
response, ``401`` included, is returned as it is.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Iterable
from typing import Any

import requests
from asgiref.sync import sync_to_async
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from msal_django.exceptions import InteractionRequired
from msal_django.tokens.claims import claims_challenge
from msal_django.tokens.sources import (
    AppTokens,
    OnBehalfOfTokens,
    RequestTokens,
    TokenSource,
    UserTokens,
)

try:
    import httpx
except ImportError:  # pragma: no cover - httpx is optional
    httpx = None  # type: ignore[assignment]

__all__ = ["HttpxTokenAuth", "TokenAuth"]


class _Tokens:
    """What both auths share: whose tokens, for which scopes."""

    def __init__(self, source: TokenSource, scopes: Iterable[str]) -> None:
        self.source, self.scopes = source, [str(scope) for scope in scopes]

    @classmethod
    def for_request(cls, request: HttpRequest, scopes: Iterable[str]) -> Any:
        """The request's signed-in user's tokens (``get_token``)."""
        return cls(RequestTokens(request), scopes)

    @classmethod
    def for_user(
        cls, user: AbstractBaseUser, scopes: Iterable[str], *, home_account_id: str | None = None
    ) -> Any:
        """A user's tokens without a request (``get_token_for_user``)."""
        return cls(UserTokens(user, home_account_id=home_account_id), scopes)

    @classmethod
    def on_behalf_of(cls, request: HttpRequest, scopes: Iterable[str]) -> Any:
        """The web API's caller's tokens (``get_token_on_behalf_of``)."""
        return cls(OnBehalfOfTokens(request), scopes)

    @classmethod
    def for_app(cls, scopes: Iterable[str]) -> Any:
        """The app's own tokens (``get_app_token``)."""
        return cls(AppTokens(), scopes)

    def bearer(self, claims: str | None = None) -> str:
        return f"Bearer {self.source.token(self.scopes, claims)}"

    def challenge(self, status: int, header: str | None) -> str | None:
        """The claims of a CAE challenge, if this response is one."""
        return claims_challenge(header) if status == 401 and header else None

    def refused(self, claims: str) -> InteractionRequired:
        return InteractionRequired(
            self.scopes, error="insufficient_claims", claims_challenge=claims
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {type(self.source).__name__} {self.scopes}>"


class TokenAuth(_Tokens, requests.auth.AuthBase):
    """``requests`` auth: ``requests.get(url, auth=TokenAuth.for_request(request, scopes))``.

    A challenge is answered only by the host the token was sent to (requests drops the
    ``Authorization`` header on a redirect to another host; no claims token follows it
    there), and only when the body can be sent again (bytes, or a seekable file)."""

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        prepared.headers["Authorization"] = self.bearer()
        prepared.register_hook("response", self._on_response)  # type: ignore[no-untyped-call]
        return prepared

    def _on_response(self, response: requests.Response, **send: Any) -> requests.Response:
        sent = response.request
        if "Authorization" not in sent.headers:  # a redirect to another host: not ours
            return response
        claims = self.challenge(response.status_code, response.headers.get("WWW-Authenticate"))
        if claims is None:
            return response
        retry = sent.copy()
        if not _rewound(retry):
            response.close()
            raise self.refused(claims)  # a stream already consumed cannot be sent again
        _ = response.content  # read, so the connection goes back to the pool
        response.close()
        jar = retry._cookies  # type: ignore[attr-defined]  # what requests' digest auth does
        requests.cookies.extract_cookies_to_jar(jar, sent, response.raw)  # type: ignore[no-untyped-call]
        retry.prepare_cookies(jar)
        retry.headers["Authorization"] = self.bearer(claims)
        retry.hooks = {"response": []}  # answered here, not by this hook again
        again = response.connection.send(retry, **send)
        again.history.append(response)
        again.request = retry
        still = self.challenge(again.status_code, again.headers.get("WWW-Authenticate"))
        if still is not None:
            again.close()
            raise self.refused(still)
        return again


def _rewound(prepared: requests.PreparedRequest) -> bool:
    """Whether the body can be sent again: none, bytes or text, or a file rewound to
    where it started (as requests does for a redirect)."""
    body = prepared.body
    if body is None or isinstance(body, bytes | str):
        return True
    if getattr(prepared, "_body_position", None) is not None:
        requests.utils.rewind_body(prepared)
        return True
    return False


if httpx is not None:

    class HttpxTokenAuth(_Tokens, httpx.Auth):
        """``httpx`` auth, sync and async clients: ``httpx.get(url, auth=...)``. The async
        flow gets its tokens off the event loop. The body is buffered so that a challenge
        can be answered by sending it again; httpx re-sends to the same URL and drops the
        header on a redirect to another origin."""

        requires_request_body = True

        def sync_auth_flow(
            self, request: httpx.Request
        ) -> Generator[httpx.Request, httpx.Response, None]:
            request.headers["Authorization"] = self.bearer()
            response = yield request
            claims = self.challenge(response.status_code, response.headers.get("WWW-Authenticate"))
            if claims is not None:
                request.headers["Authorization"] = self.bearer(claims)
                again = yield request
                self._raise_if_challenged(again)

        async def async_auth_flow(
            self, request: httpx.Request
        ) -> AsyncGenerator[httpx.Request, httpx.Response]:
            request.headers["Authorization"] = await sync_to_async(self.bearer)()
            response = yield request
            claims = self.challenge(response.status_code, response.headers.get("WWW-Authenticate"))
            if claims is not None:
                request.headers["Authorization"] = await sync_to_async(self.bearer)(claims)
                again = yield request
                self._raise_if_challenged(again)

        def _raise_if_challenged(self, response: httpx.Response) -> None:
            still = self.challenge(response.status_code, response.headers.get("WWW-Authenticate"))
            if still is not None:
                raise self.refused(still)

else:  # pragma: no cover

    class HttpxTokenAuth(_Tokens):  # type: ignore[no-redef]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise ImportError("HttpxTokenAuth needs httpx: pip install httpx")
