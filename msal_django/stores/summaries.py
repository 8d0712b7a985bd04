"""What the admin and ``msal_purge`` may know of a token cache: counts and dates, no secret.

Computed from MSAL's serialized cache when a store writes it, and kept beside it, so
listing accounts never decrypts anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from msal_django.conf import msal_settings


@dataclass(frozen=True, slots=True)
class CacheSummary:
    access_tokens: int = 0
    refresh_tokens: int = 0
    id_tokens: int = 0
    access_token_expires_at: datetime | None = None
    refresh_token_expires_at: datetime | None = None
    scopes: str = ""
    size: int = 0

    def as_fields(self) -> dict[str, Any]:
        return {
            "access_tokens": self.access_tokens,
            "refresh_tokens": self.refresh_tokens,
            "id_tokens": self.id_tokens,
            "access_token_expires_at": self.access_token_expires_at,
            "refresh_token_expires_at": self.refresh_token_expires_at,
            "scopes": self.scopes[:2000],
            "size": self.size,
        }


def summarize(state: str, written_at: datetime | None = None) -> CacheSummary:
    """Counts, the newest access token's expiry and the scopes held, from MSAL's cache.

    MSAL does not keep refresh token expiry; it is estimated as the last write plus
    ``REFRESH_TOKEN_LIFETIME`` (Entra ID's refresh tokens live 90 days unused).
    """
    try:
        cache: dict[str, dict[str, dict[str, Any]]] = json.loads(state)
    except ValueError:
        return CacheSummary(size=len(state))
    access = cache.get("AccessToken", {}).values()
    refresh = cache.get("RefreshToken", {})
    expiries = [int(at["expires_on"]) for at in access if str(at.get("expires_on", "")).isdigit()]
    scopes = sorted({scope for at in access for scope in str(at.get("target", "")).split()})
    written_at = written_at or timezone.now()
    return CacheSummary(
        access_tokens=len(access),
        refresh_tokens=len(refresh),
        id_tokens=len(cache.get("IdToken", {})),
        access_token_expires_at=(
            datetime.fromtimestamp(max(expiries), tz=UTC) if expiries else None
        ),
        refresh_token_expires_at=(
            written_at + timedelta(seconds=msal_settings.REFRESH_TOKEN_LIFETIME)
            if refresh
            else None
        ),
        scopes=" ".join(scopes),
        size=len(state.encode()),
    )
