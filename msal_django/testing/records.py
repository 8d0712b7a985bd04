"""The local provider's records: its users, clients and requests (public) and the
sessions, codes and tokens it keeps while running (internal)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from cryptography import x509

USER_DOMAIN = "example.com"

# What a consent grants: (resource, scope name), e.g. ("https://graph.microsoft.com", "User.Read").
Permission = tuple[str, str]


@dataclass(frozen=True)
class TestUser:
    """A user of the local provider; ``oid`` is stable per tenant and user name."""

    __test__: ClassVar[bool] = False  # Not a pytest test class.

    username: str
    name: str
    email: str
    oid: str
    tid: str
    # What ID tokens say about the user's authorization (see entra.py: group overage).
    roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    overage: bool = False  # leave groups out of ID tokens even when few

    @property
    def preferred_username(self) -> str:
        return self.username if "@" in self.username else f"{self.username}@{USER_DOMAIN}"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the provider served (no query string, no secrets)."""

    endpoint: str
    method: str
    path: str
    grant_type: str | None
    client_id: str | None
    at: float


@dataclass(frozen=True)
class FederatedCredential:
    """A federated identity credential of an app registration: a token of ``issuer``
    whose ``sub`` is ``subject`` and whose ``aud`` holds ``audience`` is the app's
    client assertion."""

    issuer: str
    subject: str
    audience: str = "api://AzureADTokenExchange"


@dataclass(frozen=True)
class RegisteredClient:
    """An app registration; ``client_secret`` None: registered without a secret."""

    client_id: str
    client_secret: str | None = field(repr=False)
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    frontchannel_logout_uri: str | None
    backchannel_logout_uri: str | None
    # Its credentials besides the secret (testing.secretless adds and removes them).
    certificates: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    federated_credentials: tuple[FederatedCredential, ...] = ()


@dataclass(frozen=True)
class ManagedIdentity:
    """A managed identity the provider's managed identity endpoint serves tokens of
    (``system_assigned``: the one a request naming no identity gets)."""

    client_id: str
    object_id: str
    resource_id: str
    system_assigned: bool = False


@dataclass(frozen=True)
class BackchannelLogout:
    """One back-channel logout the provider sent (or tried to) during an end-session."""

    client_id: str
    uri: str
    sid: str
    logout_token: str = field(repr=False)
    status_code: int | None
    error: str | None


@dataclass(frozen=True)
class SignOutResult:
    """What :meth:`IdentityProvider.sign_out` saw on the signed-out page."""

    redirect_url: str | None
    frontchannel_logout_urls: list[str]


class SignInError(RuntimeError):
    """The provider answered a sign-in (or sign-out) with an error page."""


@dataclass
class InjectedFailure:
    error: str | None
    error_description: str | None
    suberror: str | None
    status: int
    delay: float
    remaining: int
    retry_after: int | None


@dataclass
class ProviderSession:
    sid: str
    username: str
    auth_time: int
    client_ids: set[str] = field(default_factory=set)
    active: bool = True


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str
    response_mode: str
    prompt: str | None
    login_hint: str
    created_at: float


@dataclass
class AuthorizationCode:
    request: AuthorizationRequest
    username: str
    sid: str
    auth_time: int
    expires_at: float
    redeemed: bool = False
    refresh_tokens: list[str] = field(default_factory=list)


@dataclass
class IssuedRefreshToken:
    client_id: str
    username: str
    sid: str
    auth_time: int
    scopes: tuple[str, ...]
    expires_at: float
    revoked: bool = False
    revocation: str = "revoked"  # or "password": what the refusal says
    used: bool = False


class OAuthError(Exception):
    """An Entra-style error answer; ``page=True`` renders it as HTML for a browser."""

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int = 400,
        suberror: str | None = None,
        page: bool = False,
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.suberror = suberror
        self.page = page
