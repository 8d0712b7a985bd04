"""A local identity provider that behaves like Microsoft Entra ID where MSAL and
msal_django can tell: OpenID discovery, JWKS, the auth code flow with PKCE, refresh
tokens, ``client_info``, ``sid`` claims, end-session with front-channel logout iframes and
back-channel logout tokens. It is a plain WSGI app served over HTTPS on loopback.

This module is its face (start and stop, addresses, set-up, inspection); the work is
done behind it by ``app.py`` (the routes) and ``endpoints/``, over ``state.py`` and
``entra.py`` (Entra's rules, simplified). README's "Development" has the module map.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from requests import Session

from . import app, minting
from . import browser as _browser
from .context import Context
from .defaults import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_POST_LOGOUT_REDIRECT_URIS,
    DEFAULT_REDIRECT_URIS,
    DEFAULT_TENANT_ID,
    DEFAULT_USERS,
)
from .entra import grants, new_user, token_scopes
from .events import AccountEvents
from .keys import CA_FILE, ProviderKeys, default_state_dir
from .records import (
    BackchannelLogout,
    InjectedFailure,
    RecordedRequest,
    RegisteredClient,
    SignOutResult,
    TestUser,
)
from .secretless import SecretlessCredentials
from .server import HttpsServer
from .state import ProviderState
from .web import https_session

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger("msal_django.testing")

CA_FILE_ENV = "MSAL_DJANGO_TESTING_CA_FILE"

# The providers started in this process, most recent last (for http_client()).
_running: list[IdentityProvider] = []
_running_lock = threading.Lock()


def http_client() -> Session:
    """A ``Session`` that trusts the local provider's CA; usable as the
    ``MSAL_DJANGO["HTTP_CLIENT"]`` setting (``"msal_django.testing.http_client"``).

    The CA is ``$MSAL_DJANGO_TESTING_CA_FILE`` if set, else that of the most recently
    started provider in this process, else the standalone provider's
    (``~/.cache/msal-django-testing/ca.pem``).
    """
    ca_file = os.environ.get(CA_FILE_ENV)
    if not ca_file:
        with _running_lock:
            ca_file = _running[-1].ca_file if _running else None
    if not ca_file:
        default = default_state_dir() / CA_FILE
        if not default.exists():
            raise RuntimeError(
                "No CA for the local identity provider: start one with "
                "`python -m msal_django.testing` (or IdentityProvider().start() in this "
                f"process), or set {CA_FILE_ENV} to the path of its ca.pem."
            )
        ca_file = str(default)
    return https_session(ca_file)


class IdentityProvider(AccountEvents, SecretlessCredentials):
    """The local provider. ``port=0`` picks a free port; ``entra.py`` has its rules."""

    def __init__(
        self,
        host: str = "localhost",
        port: int = 0,
        tenant_id: str | None = None,
        state_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.host = host
        self.tenant_id = tenant_id or DEFAULT_TENANT_ID
        self._requested_port = port
        self._keys = ProviderKeys(state_dir)
        self._server: HttpsServer | None = None
        self._state = ProviderState()

    # -- lifecycle and addresses -------------------------------------------------------

    def start(self) -> IdentityProvider:
        if self._server is not None:
            raise RuntimeError("The identity provider is already running.")
        context = self._keys.server_ssl_context(self.host)
        self._server = HttpsServer(self, self.host, self._requested_port, context)
        self._server.start()
        with _running_lock:
            _running.append(self)
        logger.info("Local identity provider at %s", self.authority)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        with _running_lock:
            if self in _running:
                _running.remove(self)
        server.stop()

    def __enter__(self) -> IdentityProvider:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._server is not None else "not started"
        return f"<IdentityProvider {where} tenant={self.tenant_id}>"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """The WSGI app the server runs."""
        return app.serve(self._context(), environ, start_response)

    def _context(self) -> Context:
        return Context(self.host, self.port, self.tenant_id, self._keys, self._state)

    @property
    def port(self) -> int:
        if self._server is not None:
            return self._server.port
        if self._requested_port:
            return self._requested_port
        raise RuntimeError("The identity provider has no port until start() is called.")

    @property
    def base_url(self) -> str:
        return self._context().base_url

    @property
    def authority(self) -> str:
        return self._context().authority

    @property
    def issuer(self) -> str:
        return self._context().issuer

    @property
    def api_url(self) -> str:
        return self._context().api_url

    @property
    def end_session_endpoint(self) -> str:
        return self._context().end_session_endpoint

    @property
    def ca_file(self) -> str:
        return self._keys.ca_file

    @property
    def kid(self) -> str:
        return self._keys.kid

    def http_client(self) -> Session:
        """A session that trusts this provider's CA (and ignores proxy/CA env vars)."""
        return https_session(self.ca_file)

    # -- set-up for tests ----------------------------------------------------------------

    def register_client(
        self,
        client_id: str,
        client_secret: str | None = None,
        redirect_uris: Iterable[str] = (),
        post_logout_redirect_uris: Iterable[str] = (),
        frontchannel_logout_uri: str | None = None,
        backchannel_logout_uri: str | None = None,
    ) -> RegisteredClient:
        """Register (or replace) an app registration; ``client_secret=None``: one with
        no secret (``add_client_certificate``, ``add_federated_credential``)."""
        client = RegisteredClient(
            client_id=client_id,
            client_secret=client_secret,
            redirect_uris=tuple(redirect_uris),
            post_logout_redirect_uris=tuple(post_logout_redirect_uris),
            frontchannel_logout_uri=frontchannel_logout_uri,
            backchannel_logout_uri=backchannel_logout_uri,
        )
        with self._state.lock:
            self._state.clients[client_id] = client
        return client

    @property
    def clients(self) -> dict[str, RegisteredClient]:
        return self._state.copy_clients()

    def add_user(
        self,
        username: str,
        name: str | None = None,
        email: str | None = None,
        *,
        roles: Iterable[str] | None = None,
        groups: Iterable[str] | None = None,
        overage: bool | None = None,
    ) -> TestUser:
        """Create a user (or return the existing one with that user name).

        ``roles`` (app role values) and ``groups`` (group object ids) go into the user's
        ID tokens; with ``overage`` (or more than 200 groups, as on Entra) the groups are
        left out for ``_claim_names`` and served by ``/v1.0/me/transitiveMemberOf``.
        Given for an existing user, they replace its own; ``reset()`` clears them.
        """
        self._state.add_user(new_user(self.tenant_id, username, name, email))
        return self._state.set_authorization(username, roles, groups, overage)

    @property
    def users(self) -> dict[str, TestUser]:
        return self._state.copy_users()

    def consent(self, username: str, client_id: str, scopes: Iterable[str]) -> None:
        """Grant consent ahead of time, as an admin would."""
        self._state.grant(username, client_id, grants(scopes))

    def grant_app_roles(self, client_id: str, resource: str, roles: Iterable[str]) -> None:
        """Grant application permissions (app roles) to ``client_id`` on ``resource``
        (``api://<API client id>``), as an admin's consent does: client credentials
        tokens for ``<resource>/.default`` carry them as ``roles``."""
        self._state.grant_app_roles(client_id, resource.rstrip("/"), roles)

    def access_token_for(
        self,
        username: str,
        client_id: str,
        scopes: Iterable[str],
        *,
        roles: Iterable[str] = (),
        version: int = 2,
        lifetime: int | None = None,
    ) -> str:
        """A user's access token as the client ``client_id`` (a single-page app, a
        mobile app) would get it by signing the user in: ``scopes`` of one resource
        (``["api://<API client id>/access_as_user"]``: ``aud`` the resource, ``scp`` the
        names), ``roles`` the user's assigned app roles. ``version=1`` gives Entra's v1
        form. Consent is taken as given (an admin's)."""
        user = self.add_user(username)
        scopes = list(scopes)
        self._state.grant(username, client_id, grants(scopes))
        resource, names, _ = token_scopes(
            client_id, scopes, self._state.granted(username, client_id)
        )
        return minting.access_token_for(
            self._context(),
            user,
            client_id,
            resource,
            names,
            roles=tuple(roles),
            version=version,
            lifetime=lifetime,
        )

    @property
    def access_token_lifetime(self) -> int:
        return self._state.access_token_lifetime

    @access_token_lifetime.setter
    def access_token_lifetime(self, seconds: int) -> None:
        self._state.access_token_lifetime = seconds

    @property
    def refresh_token_lifetime(self) -> int:
        return self._state.refresh_token_lifetime

    @refresh_token_lifetime.setter
    def refresh_token_lifetime(self, seconds: int) -> None:
        self._state.refresh_token_lifetime = seconds

    @property
    def strict_refresh_token_rotation(self) -> bool:
        """Refresh tokens are single-use (on Entra, an old one stays valid)."""
        return self._state.strict_refresh_token_rotation

    @strict_refresh_token_rotation.setter
    def strict_refresh_token_rotation(self, strict: bool) -> None:
        self._state.strict_refresh_token_rotation = strict

    @property
    def login_hint_claim(self) -> bool:
        """ID tokens carry Entra's optional ``login_hint`` claim (what the end-session
        endpoint takes as ``logout_hint``)."""
        return self._state.login_hint_claim

    @login_hint_claim.setter
    def login_hint_claim(self, on: bool) -> None:
        self._state.login_hint_claim = on

    @property
    def graph_next_link(self) -> str | None:
        """For tests of a misbehaving Graph: every membership page links here (itself: an
        endless loop; another host: a link a client must not follow)."""
        return self._state.graph_next_link

    @graph_next_link.setter
    def graph_next_link(self, url: str | None) -> None:
        self._state.graph_next_link = url

    @property
    def graph_raw_body(self) -> str | None:
        """For tests of a misbehaving Graph: membership pages answer this text (200)."""
        return self._state.graph_raw_body

    @graph_raw_body.setter
    def graph_raw_body(self, body: str | None) -> None:
        self._state.graph_raw_body = body

    def inject(
        self,
        endpoint: str,
        *,
        error: str | None = "server_error",
        error_description: str | None = None,
        suberror: str | None = None,
        status: int = 400,
        delay: float = 0.0,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` requests to ``endpoint`` fail (or be slow).

        ``error=None`` with ``status`` >= 400 gives a plain HTTP error; with a lower
        status and a ``delay`` a slow but normal answer. On ``authorize``, an error is
        delivered as Entra does, by redirect to the client's redirect URI.
        """
        if endpoint not in app.ENDPOINTS:
            raise ValueError(f"endpoint must be one of {', '.join(app.ENDPOINTS)}")
        failure = InjectedFailure(
            error, error_description, suberror, status, delay, times, retry_after
        )
        self._state.add_failure(endpoint, failure)

    # -- inspection ------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    def count(self, endpoint: str | None = None, grant_type: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if (endpoint is None or r.endpoint == endpoint)
            and (grant_type is None or r.grant_type == grant_type)
        )

    @property
    def backchannel_logouts(self) -> list[BackchannelLogout]:
        """Back-channel logouts sent since the last reset(), with their logout tokens."""
        with self._state.lock:
            return list(self._state.backchannel_logouts)

    def issued_secrets(self) -> list[str]:
        """Every authorization code and token issued since the last ``reset()``: what a
        test can look for in logs, pages or anywhere else it must never appear."""
        with self._state.lock:
            return list(self._state.issued)

    def reset(self) -> None:
        """Forget requests, injected failures, consents, sessions, codes and tokens and
        restore the default lifetimes and flags; keep users, clients and keys."""
        self._state.reset()

    # -- driving the browser side ----------------------------------------------------

    def sign_in(
        self,
        auth_uri: str,
        username: str,
        consent: bool = True,
        *,
        browser: Session | None = None,
    ) -> str:
        """Sign ``username`` in through the real authorize endpoint and return the URL the
        browser would be sent back to (``redirect_uri?code=...&state=...``), unfollowed.

        ``browser`` keeps the provider's session cookie between calls (one browser);
        by default each call is a fresh browser. With ``response_mode=form_post`` the
        returned URL carries, as its query, the fields the browser would POST.
        """
        known = username in self.users
        session = browser or self.http_client()
        return _browser.sign_in(session, auth_uri, username, known=known, consent=consent)

    def sign_out(self, logout_url: str, *, browser: Session | None = None) -> SignOutResult:
        """Open an end-session URL as a browser would (the front-channel iframes are
        listed, not loaded) and return where the page would send the browser next."""
        return _browser.sign_out(browser or self.http_client(), logout_url)

    # -- tokens ---------------------------------------------------------------------

    def sign_jwt(self, claims: Mapping[str, Any], *, typ: str | None = None) -> str:
        """Sign any claims with the provider's key (for tests of token validation); the
        token joins ``issued_secrets()``, so a test's log scan looks for it too."""
        token = self._keys.sign(dict(claims), typ=typ)
        self._state.remember_issued(token)
        return token

    def logout_token(self, client_id: str, username: str, sid: str) -> str:
        """A back-channel logout token, as the end-session endpoint sends it."""
        return minting.logout_token(self._context(), client_id, username, sid)


def add_defaults(provider: IdentityProvider) -> None:
    """Register the example client and the default users (alice, bob)."""
    provider.register_client(
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        redirect_uris=DEFAULT_REDIRECT_URIS,
        post_logout_redirect_uris=DEFAULT_POST_LOGOUT_REDIRECT_URIS,
    )
    for username, name in DEFAULT_USERS:
        provider.add_user(username, name=name)
