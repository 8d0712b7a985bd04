"""What the local provider remembers while it runs, behind one lock.

The endpoints read and change these tables under ``lock`` (a re-entrant lock, so an
operation here may run inside a caller's ``with state.lock``); the methods are the
operations that more than one caller needs.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from .defaults import (
    DEFAULT_ACCESS_TOKEN_LIFETIME,
    DEFAULT_REFRESH_TOKEN_LIFETIME,
    MAX_PENDING_SIGN_INS,
    PENDING_SIGN_IN_LIFETIME,
)
from .records import (
    AuthorizationCode,
    AuthorizationRequest,
    BackchannelLogout,
    InjectedFailure,
    IssuedRefreshToken,
    ManagedIdentity,
    Permission,
    ProviderSession,
    RecordedRequest,
    RegisteredClient,
    TestUser,
)


@dataclass(eq=False)
class ProviderState:
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    # What tests set up (kept by reset()).
    users: dict[str, TestUser] = field(default_factory=dict)
    clients: dict[str, RegisteredClient] = field(default_factory=dict)
    # Managed identities by object id, and the endpoint's X-IDENTITY-HEADER value.
    managed_identities: dict[str, ManagedIdentity] = field(default_factory=dict)
    identity_header: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    # What sign-ins and token requests leave behind.
    consents: dict[tuple[str, str], set[Permission]] = field(default_factory=dict)
    # Application permissions (app roles) granted to a client on a resource.
    app_roles: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    sessions: dict[str, ProviderSession] = field(default_factory=dict)
    pending: dict[str, AuthorizationRequest] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    refresh_tokens: dict[str, IssuedRefreshToken] = field(default_factory=dict)
    # Test instrumentation.
    failures: dict[str, list[InjectedFailure]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    backchannel_logouts: list[BackchannelLogout] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)  # every code and token, for leak checks
    # When each access token (by ``uti``) was minted, to the sub-second: CAE events.
    minted_at: dict[str, float] = field(default_factory=dict)
    # (client id, jti) of the client assertions accepted (testing.client_auth).
    assertion_ids: set[tuple[str, str]] = field(default_factory=set)
    # Account events (testing.events): disabled users, each user's latest event time.
    disabled: set[str] = field(default_factory=set)
    account_events: dict[str, float] = field(default_factory=dict)
    # Knobs tests turn.
    access_token_lifetime: int = DEFAULT_ACCESS_TOKEN_LIFETIME
    # Entra: a CAE-capable (cp1) client's access tokens live up to 28 hours.
    cae_access_token_lifetime: int = 28 * 3600
    refresh_token_lifetime: int = DEFAULT_REFRESH_TOKEN_LIFETIME
    strict_refresh_token_rotation: bool = False
    refuse_reused_assertions: bool = False
    login_hint_claim: bool = False
    graph_next_link: str | None = None  # every Graph page links here (a loop, elsewhere)
    graph_raw_body: str | None = None  # Graph's membership pages answer this instead

    def reset(self) -> None:
        """Forget everything but users, clients and managed identities; restore the knobs."""
        with self.lock:
            self.requests.clear()
            self.failures.clear()
            self.consents.clear()
            self.app_roles.clear()
            self.sessions.clear()
            self.pending.clear()
            self.codes.clear()
            self.refresh_tokens.clear()
            self.backchannel_logouts.clear()
            self.issued.clear()
            self.minted_at.clear()
            self.assertion_ids.clear()
            self.disabled.clear()
            self.account_events.clear()
            self.access_token_lifetime = DEFAULT_ACCESS_TOKEN_LIFETIME
            self.cae_access_token_lifetime = 28 * 3600
            self.refresh_token_lifetime = DEFAULT_REFRESH_TOKEN_LIFETIME
            self.strict_refresh_token_rotation = False
            self.refuse_reused_assertions = False
            self.login_hint_claim = False
            self.graph_next_link = self.graph_raw_body = None
            for username, user in self.users.items():
                self.users[username] = replace(user, roles=(), groups=(), overage=False)

    def add_user(self, user: TestUser) -> TestUser:
        """Keep ``user``, unless one with that user name exists: return the one kept."""
        with self.lock:
            return self.users.setdefault(user.username, user)

    def set_authorization(
        self,
        username: str,
        roles: Iterable[str] | None = None,
        groups: Iterable[str] | None = None,
        overage: bool | None = None,
    ) -> TestUser:
        """Change what a user's ID tokens say (``None``: leave as it is)."""
        with self.lock:
            user = self.users[username]
            user = replace(
                user,
                roles=user.roles if roles is None else tuple(roles),
                groups=user.groups if groups is None else tuple(groups),
                overage=user.overage if overage is None else overage,
            )
            self.users[username] = user
            return user

    def copy_users(self) -> dict[str, TestUser]:
        with self.lock:
            return dict(self.users)

    def copy_clients(self) -> dict[str, RegisteredClient]:
        with self.lock:
            return dict(self.clients)

    def user(self, username: str) -> TestUser:
        with self.lock:
            return self.users[username]

    def client(self, client_id: str) -> RegisteredClient | None:
        with self.lock:
            return self.clients.get(client_id)

    def grant(self, username: str, client_id: str, grants: Iterable[Permission]) -> None:
        with self.lock:
            self.consents.setdefault((username, client_id), set()).update(grants)

    def grant_app_roles(self, client_id: str, resource: str, roles: Iterable[str]) -> None:
        with self.lock:
            self.app_roles.setdefault((client_id, resource), set()).update(roles)

    def app_roles_of(self, client_id: str, resource: str) -> set[str]:
        with self.lock:
            return set(self.app_roles.get((client_id, resource), ()))

    def granted(self, username: str, client_id: str) -> set[Permission]:
        with self.lock:
            return set(self.consents.get((username, client_id), ()))

    def active_session(self, sid: str | None) -> ProviderSession | None:
        with self.lock:
            session = self.sessions.get(sid) if sid else None
            return session if session is not None and session.active else None

    def revoke_refresh_tokens(self, username: str) -> int:
        """Revoke a user's refresh tokens and end their sessions; return how many tokens."""
        with self.lock:
            count = 0
            for token in self.refresh_tokens.values():
                if token.username == username and not token.revoked:
                    token.revoked = True
                    count += 1
            for session in self.sessions.values():
                if session.username == username:
                    session.active = False
            return count

    def add_pending(self, request_id: str, auth: AuthorizationRequest) -> None:
        """Keep a sign-in in progress; drop the stale ones (and the oldest beyond a cap)."""
        cutoff = time.time() - PENDING_SIGN_IN_LIFETIME
        with self.lock:
            for stale_id, stale in list(self.pending.items()):
                if stale.created_at < cutoff or len(self.pending) > MAX_PENDING_SIGN_INS:
                    del self.pending[stale_id]
            self.pending[request_id] = auth

    def pending_request(self, request_id: str) -> AuthorizationRequest | None:
        with self.lock:
            return self.pending.get(request_id)

    def add_failure(self, endpoint: str, failure: InjectedFailure) -> None:
        with self.lock:
            self.failures.setdefault(endpoint, []).append(failure)

    def take_failure(self, endpoint: str) -> InjectedFailure | None:
        """The failure the next request to ``endpoint`` meets, if one was injected."""
        with self.lock:
            queue = self.failures.get(endpoint)
            if not queue:
                return None
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.pop(0)
            return failure

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(request)

    def remember_issued(self, *secrets: str) -> None:
        with self.lock:
            self.issued.extend(secrets)
