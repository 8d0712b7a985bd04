"""What the ``get_token`` family returns: the access token, a ``str``, that also knows
when it expires. The Azure SDK credentials (``msal_django.azure``) report it; code that
only wants the string never notices."""

from __future__ import annotations

import time
from typing import Any

from msal_django.redact import Secret


class AccessToken(Secret):
    """An access token (a ``str`` whose ``repr`` hides it) with ``expires_on`` (epoch
    seconds, at most a few seconds before the token's ``exp``, never after) and
    ``refresh_on`` (when MSAL would renew it early, or None)."""

    expires_on: float
    refresh_on: float | None


def access_token(result: dict[str, Any], now: float | None = None) -> AccessToken:
    """The token of an MSAL result (``expires_in`` is what is left of its life)."""
    token = AccessToken(result["access_token"])
    try:
        lifetime = float(result.get("expires_in") or 0)
    except (TypeError, ValueError):
        lifetime = 0.0  # unknown: the SDKs ask again at their next call
    # MSAL counts whole seconds from when it received the token, after the provider
    # stamped it: a second off, so an SDK never holds it past its real ``exp``.
    token.expires_on = int(time.time() if now is None else now) + lifetime - 1
    refresh_on = result.get("refresh_on")
    token.refresh_on = float(refresh_on) if isinstance(refresh_on, int | float) else None
    return token
