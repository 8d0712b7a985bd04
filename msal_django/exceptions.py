"""Errors users can catch; the middleware and views turn them into clear pages."""

from __future__ import annotations

from collections.abc import Iterable


class MsalDjangoError(Exception):
    """Base class of every error msal_django raises on purpose."""


class InteractionRequired(MsalDjangoError):
    """The user must sign in again, or consent to ``scopes``, before a token can be had.

    ``InteractionRequiredMiddleware`` turns it into a redirect to the ``login`` view that
    asks for ``scopes`` and brings the user back to the page.
    """

    def __init__(
        self,
        scopes: Iterable[str] = (),
        *,
        error: str | None = None,
        claims_challenge: str | None = None,
    ) -> None:
        self.scopes = list(scopes)
        self.error = error
        self.claims_challenge = claims_challenge
        reason = f" ({error})" if error else ""
        super().__init__(
            f"Sign-in or consent needed for scopes {self.scopes}{reason}: "
            "redirect the user to the msal_django:login view."
        )


class ProviderError(MsalDjangoError):
    """The identity provider could not be reached or gave an error no sign-in can fix.

    ``transient`` is true for outages (network errors, 5xx, throttling): retry later.
    It is raised ``from None``, its message naming the cause: the frames of MSAL and
    requests below it hold the client secret and tokens in their local variables, which
    Django's error pages and reports would show.
    """

    def __init__(self, message: str, *, error: str | None = None, transient: bool) -> None:
        self.error = error
        self.transient = transient
        super().__init__(message)

    def detached(self) -> ProviderError:
        """The same error without its traceback, to raise ``from None`` where this one
        came up through MSAL's frames (a credential's failure inside a token request)."""
        return ProviderError(str(self), error=self.error, transient=self.transient)


class StoreUnavailable(MsalDjangoError):
    """The token store (database or Redis) did not answer; retry later."""
