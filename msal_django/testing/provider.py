"""A local identity provider that behaves like Microsoft Entra ID where MSAL and
msal_django can tell: OpenID discovery, JWKS, the auth code flow with PKCE, refresh
tokens, ``client_info``, ``sid`` claims, end-session with front-channel logout iframes and
back-channel logout tokens. It is a plain WSGI app served over HTTPS on loopback.

Rules worth knowing (Entra's, simplified):

- A scope ``RESOURCE/NAME`` whose resource is a URI (``api://app/Read``) belongs to that
  resource; any other scope (``User.Read``) is a Microsoft Graph scope. The OpenID scopes
  (``openid``, ``profile``, ``email``, ``offline_access``) belong to no resource. One token
  request gets one resource (``AADSTS28000`` otherwise) and its access token has
  ``aud`` = the resource and ``scp`` = the scope names without the resource prefix.
- Scopes must be consented per user and client: the sign-in page's checkbox grants the
  scopes asked for; :meth:`IdentityProvider.consent` grants them ahead of time. ``.default``
  needs no consent. A refresh for an unconsented scope gets ``invalid_grant`` with
  ``suberror`` ``consent_required`` (``AADSTS65001``).
- Refresh tokens rotate (a new one on every use) but the old ones stay valid, as on Entra,
  unless ``strict_refresh_token_rotation`` is set.
- ID tokens carry Entra's optional ``login_hint`` claim (an opaque per-user value, what
  the end-session endpoint takes as ``logout_hint``) when ``login_hint_claim`` is set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from html import unescape
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

import jwt
import requests
from requests import Session
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import pages
from .keys import CA_FILE, ProviderKeys, default_state_dir
from .records import (
    USER_DOMAIN,
    AuthorizationCode,
    AuthorizationRequest,
    BackchannelLogout,
    InjectedFailure,
    IssuedRefreshToken,
    OAuthError,
    ProviderSession,
    RecordedRequest,
    RegisteredClient,
    SignInError,
    SignOutResult,
    TestUser,
)
from .server import HttpsServer

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger("msal_django.testing")

DEFAULT_TENANT_ID = "7d4b3a2e-58c4-4b44-9f0e-3d1c6a5b8e90"
SESSION_COOKIE = "idp_session"
GRAPH_RESOURCE = "https://graph.microsoft.com"
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
TENANT_ALIASES = frozenset({"common", "organizations"})
ENDPOINTS = ("discovery", "jwks", "authorize", "token", "logout", "api")
CA_FILE_ENV = "MSAL_DJANGO_TESTING_CA_FILE"
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"

DEFAULT_ACCESS_TOKEN_LIFETIME = 3600
DEFAULT_REFRESH_TOKEN_LIFETIME = 86400
CODE_LIFETIME = 600
ID_TOKEN_LIFETIME = 3600
LOGOUT_TOKEN_LIFETIME = 120
PENDING_SIGN_IN_LIFETIME = 600
MAX_PENDING_SIGN_INS = 1000

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
_OID_NAMESPACE = uuid.UUID("0f1d8a34-7b1e-4b8e-a0c5-6d2e9a4f3b21")
# The AADSTS code used when inject() is given an error but no description.
_INJECTED_CODES = {
    "invalid_grant": 50173,
    "interaction_required": 50076,
    "invalid_client": 7000215,
    "invalid_request": 900144,
    "invalid_scope": 70011,
    "unauthorized_client": 700016,
    "temporarily_unavailable": 90033,
    "server_error": 50000,
}


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
    return _session(ca_file)


def _session(ca_file: str) -> Session:
    session = Session()
    # REQUESTS_CA_BUNDLE and friends would otherwise override verify.
    session.trust_env = False
    session.verify = ca_file
    return session


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _now() -> int:
    return int(time.time())


def _add_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return urlunsplit(parts._replace(query=query))


def _split_scope(scope: str) -> tuple[str, str]:
    """``(resource, name)`` of a resource scope (see the module docstring)."""
    if "://" in scope:
        scheme, rest = scope.split("://", 1)
        if "/" not in rest.rstrip("/"):
            raise OAuthError(
                "invalid_scope",
                f"AADSTS70011: The provided value for the input parameter 'scope' is not "
                f"valid. The scope '{scope}' names a resource but no permission.",
            )
        path, name = rest.rsplit("/", 1)
        resource = f"{scheme}://{path}"
        return (GRAPH_RESOURCE if resource.rstrip("/") == GRAPH_RESOURCE else resource), name
    return GRAPH_RESOURCE, scope


def _parse_scopes(scope: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys((scope or "").split()))


def _html(body: str, status: int = 200) -> Response:
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


def _json(body: Mapping[str, Any], status: int = 200) -> Response:
    response = Response(json.dumps(body), status=status, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _redirect(location: str) -> Response:
    response = Response(status=302, headers={"Location": location})
    response.headers["Cache-Control"] = "no-store"
    return response


class IdentityProvider:
    """The local provider. ``port=0`` picks a free port; see the module docstring."""

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
        self._lock = threading.RLock()
        self._users: dict[str, TestUser] = {}
        self._clients: dict[str, RegisteredClient] = {}
        self._consents: dict[tuple[str, str], set[tuple[str, str]]] = {}
        self._sessions: dict[str, ProviderSession] = {}
        self._pending: dict[str, AuthorizationRequest] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._refresh_tokens: dict[str, IssuedRefreshToken] = {}
        self._failures: dict[str, list[InjectedFailure]] = {}
        self._requests: list[RecordedRequest] = []
        self._backchannel_logouts: list[BackchannelLogout] = []
        self.access_token_lifetime = DEFAULT_ACCESS_TOKEN_LIFETIME
        self.refresh_token_lifetime = DEFAULT_REFRESH_TOKEN_LIFETIME
        self.strict_refresh_token_rotation = False
        self.login_hint_claim = False
        self._issued: list[str] = []  # every code and token handed out, for leak checks
        self._url_map = Map(
            [
                Rule("/", endpoint="index", methods=["GET"]),
                Rule(
                    "/<tenant>/v2.0/.well-known/openid-configuration",
                    endpoint="discovery",
                    methods=["GET"],
                ),
                Rule("/<tenant>/discovery/v2.0/keys", endpoint="jwks", methods=["GET"]),
                Rule(
                    "/<tenant>/oauth2/v2.0/authorize",
                    endpoint="authorize",
                    methods=["GET", "POST"],
                ),
                Rule("/<tenant>/oauth2/v2.0/token", endpoint="token", methods=["POST"]),
                Rule("/<tenant>/oauth2/v2.0/logout", endpoint="logout", methods=["GET", "POST"]),
                Rule("/v1.0/me", endpoint="api", methods=["GET"]),
            ],
            strict_slashes=False,
        )

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

    @property
    def port(self) -> int:
        if self._server is not None:
            return self._server.port
        if self._requested_port:
            return self._requested_port
        raise RuntimeError("The identity provider has no port until start() is called.")

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    @property
    def authority(self) -> str:
        return f"{self.base_url}/{self.tenant_id}"

    @property
    def issuer(self) -> str:
        return f"{self.authority}/v2.0"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1.0/me"

    @property
    def end_session_endpoint(self) -> str:
        return f"{self.authority}/oauth2/v2.0/logout"

    @property
    def ca_file(self) -> str:
        return self._keys.ca_file

    @property
    def kid(self) -> str:
        return self._keys.kid

    def http_client(self) -> Session:
        """A session that trusts this provider's CA (and ignores proxy/CA env vars)."""
        return _session(self.ca_file)

    # -- set-up for tests ----------------------------------------------------------------

    def register_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: Iterable[str] = (),
        post_logout_redirect_uris: Iterable[str] = (),
        frontchannel_logout_uri: str | None = None,
        backchannel_logout_uri: str | None = None,
    ) -> RegisteredClient:
        """Register (or replace) an app registration."""
        client = RegisteredClient(
            client_id=client_id,
            client_secret=client_secret,
            redirect_uris=tuple(redirect_uris),
            post_logout_redirect_uris=tuple(post_logout_redirect_uris),
            frontchannel_logout_uri=frontchannel_logout_uri,
            backchannel_logout_uri=backchannel_logout_uri,
        )
        with self._lock:
            self._clients[client_id] = client
        return client

    @property
    def clients(self) -> dict[str, RegisteredClient]:
        with self._lock:
            return dict(self._clients)

    def add_user(
        self, username: str, name: str | None = None, email: str | None = None
    ) -> TestUser:
        """Create a user (or return the existing one with that user name)."""
        with self._lock:
            if username in self._users:
                return self._users[username]
            local = username.split("@", 1)[0]
            preferred = username if "@" in username else f"{username}@{USER_DOMAIN}"
            user = TestUser(
                username=username,
                name=name or local.replace(".", " ").replace("_", " ").title(),
                email=email or preferred,
                oid=str(uuid.uuid5(_OID_NAMESPACE, f"{self.tenant_id}/{username}")),
                tid=self.tenant_id,
            )
            self._users[username] = user
            return user

    @property
    def users(self) -> dict[str, TestUser]:
        with self._lock:
            return dict(self._users)

    def consent(self, username: str, client_id: str, scopes: Iterable[str]) -> None:
        """Grant consent ahead of time, as an admin would."""
        granted = {_split_scope(s) for s in scopes if s not in OIDC_SCOPES}
        with self._lock:
            self._consents.setdefault((username, client_id), set()).update(granted)

    def revoke_refresh_tokens(self, username: str) -> int:
        """Revoke every refresh token (and end every sign-in session) of a user.

        Returns how many refresh tokens were revoked.
        """
        with self._lock:
            count = 0
            for token in self._refresh_tokens.values():
                if token.username == username and not token.revoked:
                    token.revoked = True
                    count += 1
            for session in self._sessions.values():
                if session.username == username:
                    session.active = False
            return count

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
        if endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be one of {', '.join(ENDPOINTS)}")
        failure = InjectedFailure(
            error, error_description, suberror, status, delay, times, retry_after
        )
        with self._lock:
            self._failures.setdefault(endpoint, []).append(failure)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

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
        with self._lock:
            return list(self._backchannel_logouts)

    def issued_secrets(self) -> list[str]:
        """Every authorization code and token issued since the last ``reset()``: what a
        test can look for in logs, pages or anywhere else it must never appear."""
        with self._lock:
            return list(self._issued)

    def reset(self) -> None:
        """Forget requests, injected failures, consents, sessions, codes and tokens and
        restore the default lifetimes and flags; keep users, clients and keys."""
        with self._lock:
            self._requests.clear()
            self._failures.clear()
            self._consents.clear()
            self._sessions.clear()
            self._pending.clear()
            self._codes.clear()
            self._refresh_tokens.clear()
            self._backchannel_logouts.clear()
            self._issued.clear()
            self.access_token_lifetime = DEFAULT_ACCESS_TOKEN_LIFETIME
            self.refresh_token_lifetime = DEFAULT_REFRESH_TOKEN_LIFETIME
            self.strict_refresh_token_rotation = False
            self.login_hint_claim = False

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
        browser = browser or self.http_client()
        response = browser.get(auth_uri, allow_redirects=False, timeout=30)
        if response.is_redirect:
            return str(response.headers["Location"])
        if response.status_code != 200:
            raise SignInError(_error_text(response))
        if 'id="form-post"' in response.text:
            return _form_post_as_url(response.text)
        request_id = re.search(r'name="request_id" value="([^"]*)"', response.text)
        if request_id is None:
            raise SignInError("The authorize endpoint did not show the sign-in page.")
        known = username in self.users
        data = {
            "request_id": unescape(request_id.group(1)),
            "user": username if known else "",
            "new_username": "" if known else username,
        }
        if consent:
            data["consent"] = "on"
        action = urlunsplit(urlsplit(auth_uri)._replace(query="", fragment=""))
        response = browser.post(action, data=data, allow_redirects=False, timeout=30)
        if response.is_redirect:
            return str(response.headers["Location"])
        if response.status_code == 200 and 'id="form-post"' in response.text:
            return _form_post_as_url(response.text)
        raise SignInError(_error_text(response))

    def sign_out(self, logout_url: str, *, browser: Session | None = None) -> SignOutResult:
        """Open an end-session URL as a browser would (the front-channel iframes are
        listed, not loaded) and return where the page would send the browser next."""
        browser = browser or self.http_client()
        response = browser.get(logout_url, allow_redirects=False, timeout=30)
        if response.status_code != 200:
            raise SignInError(_error_text(response))
        iframes = re.findall(r'<iframe class="frontchannel-logout" src="([^"]*)"', response.text)
        redirect = re.search(r'<a id="continue" class="[^"]*" href="([^"]*)"', response.text)
        return SignOutResult(
            redirect_url=unescape(redirect.group(1)) if redirect else None,
            frontchannel_logout_urls=[unescape(url) for url in iframes],
        )

    # -- tokens ---------------------------------------------------------------------

    def sign_jwt(self, claims: Mapping[str, Any], *, typ: str | None = None) -> str:
        """Sign any claims with the provider's key (for tests of token validation)."""
        return self._keys.sign(dict(claims), typ=typ)

    def logout_token(self, client_id: str, username: str, sid: str) -> str:
        """A back-channel logout token, as the end-session endpoint sends it."""
        user = self.add_user(username)
        now = _now()
        claims = {
            "iss": self.issuer,
            "aud": client_id,
            "iat": now,
            "exp": now + LOGOUT_TOKEN_LIFETIME,
            "jti": str(uuid.uuid4()),
            "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
            "sub": self._pairwise_sub(user, client_id),
            "sid": sid,
        }
        return self._keys.sign(claims, typ="logout+jwt")

    def _pairwise_sub(self, user: TestUser, client_id: str) -> str:
        return _b64url(hashlib.sha256(f"{user.oid}:{client_id}".encode()).digest())

    def _client_info(self, user: TestUser) -> str:
        return _b64url(json.dumps({"uid": user.oid, "utid": user.tid}).encode())

    # -- WSGI ------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        adapter = self._url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except HTTPException as exc:
            return exc.get_response(request.environ)
        if endpoint == "index":
            return _html(
                pages.index_page(
                    authority=self.authority,
                    issuer=self.issuer,
                    discovery_url=f"{self.issuer}/.well-known/openid-configuration",
                )
            )
        self._record(endpoint, request)
        tenant: str | None = args.get("tenant")
        try:
            failure = self._take_failure(endpoint)
            if failure is not None:
                if failure.delay:
                    time.sleep(failure.delay)
                if failure.error is not None or failure.status >= 400:
                    return self._failure_response(endpoint, failure, request)
            if tenant is not None:
                self._check_tenant(tenant, page=endpoint in ("authorize", "logout"))
            handler = getattr(self, f"_handle_{endpoint}")
            response: Response = handler(request, tenant)
            return response
        except OAuthError as exc:
            return self._error_response(exc, request)

    def _record(self, endpoint: str, request: Request) -> None:
        grant_type = client_id = None
        if endpoint == "token":
            grant_type = request.form.get("grant_type")
            client_id = request.form.get("client_id")
            if client_id is None and request.authorization is not None:
                client_id = unquote_plus(request.authorization.username or "") or None
        elif endpoint == "authorize" and "request_id" in request.form:
            with self._lock:
                pending = self._pending.get(request.form["request_id"])
            client_id = pending.client_id if pending else None
        elif endpoint in ("authorize", "logout"):
            client_id = request.values.get("client_id")
        recorded = RecordedRequest(
            endpoint, request.method, request.path, grant_type, client_id, time.time()
        )
        with self._lock:
            self._requests.append(recorded)

    def _take_failure(self, endpoint: str) -> InjectedFailure | None:
        with self._lock:
            queue = self._failures.get(endpoint)
            if not queue:
                return None
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.pop(0)
            return failure

    def _failure_response(
        self, endpoint: str, failure: InjectedFailure, request: Request
    ) -> Response:
        if failure.error is None:
            response = Response(
                f"{failure.status} injected failure", status=failure.status, mimetype="text/plain"
            )
        else:
            code = _INJECTED_CODES.get(failure.error, 50000)
            if failure.suberror == "consent_required":
                code = 65001
            description = failure.error_description or (
                f"AADSTS{code}: Injected {failure.error} for the {endpoint} endpoint."
            )
            if not description.startswith("AADSTS"):
                description = f"AADSTS{code}: {description}"
            exc = OAuthError(
                failure.error, description, status=failure.status, suberror=failure.suberror
            )
            redirect = (
                self._authorize_error_redirect(request, exc)
                if (endpoint == "authorize" and failure.status < 500)
                else None
            )
            response = redirect or self._error_response(exc, request)
        if failure.retry_after is not None:
            response.headers["Retry-After"] = str(failure.retry_after)
        return response

    def _error_response(self, exc: OAuthError, request: Request) -> Response:
        trace_id = str(uuid.uuid4())
        correlation_id = request.headers.get("client-request-id") or str(uuid.uuid4())
        timestamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        if exc.page:
            title = "Sign in failed" if "authorize" in request.path else "Sign out failed"
            return _html(pages.error_page(title, exc.error, exc.description), exc.status)
        codes = [int(c) for c in re.findall(r"^AADSTS(\d+)", exc.description)]
        body: dict[str, Any] = {
            "error": exc.error,
            "error_description": (
                f"{exc.description} Trace ID: {trace_id} Correlation ID: {correlation_id} "
                f"Timestamp: {timestamp}"
            ),
            "error_codes": codes,
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
        }
        if codes:
            body["error_uri"] = f"{self.base_url}/error?code={codes[0]}"
        if exc.suberror:
            body["suberror"] = exc.suberror
        response = _json(body, exc.status)
        if "/v1.0/" in request.path and exc.status == 401:
            response.headers["WWW-Authenticate"] = f'Bearer error="{exc.error}"'
        return response

    def _check_tenant(self, tenant: str, *, page: bool) -> None:
        if tenant.lower() != self.tenant_id.lower() and tenant.lower() not in TENANT_ALIASES:
            raise OAuthError(
                "invalid_tenant",
                f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the "
                "correct tenant ID and are signing into the correct cloud.",
                page=page,
            )

    # -- discovery and keys ----------------------------------------------------------

    def _handle_discovery(self, request: Request, tenant: str) -> Response:
        path_tenant = tenant if tenant.lower() in TENANT_ALIASES else self.tenant_id
        base = f"{self.base_url}/{path_tenant}"
        issuer = (
            self.issuer if path_tenant == self.tenant_id else (f"{self.base_url}/{{tenantid}}/v2.0")
        )
        return _json(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_types_supported": ["code"],
                "response_modes_supported": ["query", "fragment", "form_post"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "subject_types_supported": ["pairwise"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "client_secret_basic",
                ],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": [
                    "sub",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "nbf",
                    "auth_time",
                    "nonce",
                    "sid",
                    "oid",
                    "tid",
                    "name",
                    "preferred_username",
                    "email",
                    "ver",
                    "uti",
                ],
                "request_uri_parameter_supported": False,
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "frontchannel_logout_session_supported": True,
                "backchannel_logout_supported": True,
                "backchannel_logout_session_supported": True,
                "tenant_region_scope": "local",
                "cloud_instance_name": "localhost",
            }
        )

    def _handle_jwks(self, request: Request, tenant: str) -> Response:
        return _json(self._keys.jwks())

    # -- authorize -------------------------------------------------------------------

    def _handle_authorize(self, request: Request, tenant: str) -> Response:
        if request.method == "POST" and "request_id" in request.form:
            return self._complete_sign_in(request)
        auth = self._parse_authorization_request(request.values)
        session = self._current_session(request)
        if auth.prompt == "none":
            return self._silent_sign_in(auth, session)
        request_id = secrets.token_urlsafe(24)
        with self._lock:
            self._prune_pending()
            self._pending[request_id] = auth
        current = session.username if session and auth.prompt != "login" else None
        return self._sign_in_page(request, request_id, auth, current)

    def _sign_in_page(
        self,
        request: Request,
        request_id: str,
        auth: AuthorizationRequest,
        current_username: str | None,
        message: str = "",
    ) -> Response:
        users = self.users
        accounts = [
            pages.Account(u.username, u.name, u.preferred_username)
            for u in sorted(users.values(), key=lambda u: u.username)
        ]
        current = next((a for a in accounts if a.username == current_username), None)
        hint = auth.login_hint if auth.login_hint and auth.login_hint not in users else ""
        body = pages.sign_in_page(
            action=request.base_url,
            request_id=request_id,
            client_id=auth.client_id,
            scopes=auth.scopes,
            accounts=accounts,
            current=current,
            login_hint=hint,
            message=message,
        )
        return _html(body, 200)

    def _parse_authorization_request(self, values: Mapping[str, str]) -> AuthorizationRequest:
        def page_error(error: str, description: str) -> OAuthError:
            return OAuthError(error, description, page=True)

        client_id = values.get("client_id", "")
        with self._lock:
            client = self._clients.get(client_id)
        if client is None:
            raise page_error(
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{client_id}' was not found in "
                "the directory. Register it with IdentityProvider.register_client().",
            )
        redirect_uri = values.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            raise page_error(
                "invalid_request",
                f"AADSTS50011: The redirect URI '{redirect_uri}' specified in the request "
                f"does not match the redirect URIs configured for the application "
                f"'{client_id}'.",
            )
        if values.get("response_type") != "code":
            raise page_error(
                "unsupported_response_type",
                "AADSTS700054: Only response_type=code is supported (the auth code flow).",
            )
        code_challenge = values.get("code_challenge", "")
        if not code_challenge or values.get("code_challenge_method") != "S256":
            raise page_error(
                "invalid_request",
                "AADSTS9002325: Proof Key for Code Exchange is required: send code_challenge "
                "with code_challenge_method=S256.",
            )
        response_mode = values.get("response_mode") or "query"
        if response_mode not in ("query", "fragment", "form_post"):
            raise page_error(
                "invalid_request",
                f"AADSTS900144: Unsupported response_mode '{response_mode}'.",
            )
        try:
            scopes = _parse_scopes(values.get("scope"))
            for scope in scopes:
                if scope not in OIDC_SCOPES:
                    _split_scope(scope)
        except OAuthError as exc:
            exc.page = True
            raise
        return AuthorizationRequest(
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=values.get("state"),
            nonce=values.get("nonce"),
            code_challenge=code_challenge,
            response_mode=response_mode,
            prompt=values.get("prompt"),
            login_hint=values.get("login_hint", ""),
            created_at=time.time(),
        )

    def _prune_pending(self) -> None:
        cutoff = time.time() - PENDING_SIGN_IN_LIFETIME
        for request_id, auth in list(self._pending.items()):
            if auth.created_at < cutoff or len(self._pending) > MAX_PENDING_SIGN_INS:
                del self._pending[request_id]

    def _current_session(self, request: Request) -> ProviderSession | None:
        sid = request.cookies.get(SESSION_COOKIE)
        with self._lock:
            session = self._sessions.get(sid) if sid else None
            return session if session is not None and session.active else None

    def _silent_sign_in(
        self, auth: AuthorizationRequest, session: ProviderSession | None
    ) -> Response:
        if session is None:
            return self._authorization_response(
                auth,
                {
                    "error": "login_required",
                    "error_description": "AADSTS50058: A silent sign-in request was sent but "
                    "no user is signed in.",
                },
            )
        if self._missing_consent(session.username, auth.client_id, auth.scopes):
            return self._authorization_response(
                auth,
                {
                    "error": "consent_required",
                    "error_description": "AADSTS65001: The user has not consented to use the "
                    f"application with ID '{auth.client_id}'.",
                },
            )
        return self._issue_code(auth, self.users[session.username], session)

    def _complete_sign_in(self, request: Request) -> Response:
        form = request.form
        request_id = form.get("request_id", "")
        with self._lock:
            auth = self._pending.get(request_id)
        if auth is None or auth.created_at < time.time() - PENDING_SIGN_IN_LIFETIME:
            raise OAuthError(
                "invalid_request",
                "AADSTS50058: This sign-in request has expired or was already completed. "
                "Go back to the application and sign in again.",
                page=True,
            )
        if form.get("action") == "cancel":
            with self._lock:
                self._pending.pop(request_id, None)
            return self._authorization_response(
                auth,
                {
                    "error": "access_denied",
                    "error_subcode": "cancel",
                    "error_description": "AADSTS65004: The user canceled the sign-in.",
                },
            )
        username = form.get("user", "").strip() or form.get("new_username", "").strip()
        session = self._current_session(request)
        current = session.username if session else None
        if not username:
            return self._sign_in_page(
                request, request_id, auth, current, "Pick an account or type a user name."
            )
        if not _USERNAME.match(username):
            return self._sign_in_page(
                request,
                request_id,
                auth,
                current,
                "A user name has up to 64 letters, digits and . _ @ + - characters.",
            )
        with self._lock:
            if self._pending.pop(request_id, None) is None:  # Another submit won the race.
                raise OAuthError(
                    "invalid_request",
                    "AADSTS50058: This sign-in request was already completed.",
                    page=True,
                )
        user = self.add_user(username, name=form.get("new_name", "").strip() or None)
        if form.get("consent") == "on":
            self.consent(user.username, auth.client_id, auth.scopes)
        elif self._missing_consent(user.username, auth.client_id, auth.scopes):
            return self._authorization_response(
                auth,
                {
                    "error": "access_denied",
                    "error_description": "AADSTS65004: User declined to consent to access the app.",
                },
            )
        if session is None or session.username != user.username:
            session = ProviderSession(str(uuid.uuid4()), user.username, _now())
            with self._lock:
                self._sessions[session.sid] = session
        elif auth.prompt == "login":
            session.auth_time = _now()  # The user signed in again.
        return self._issue_code(auth, user, session)

    def _issue_code(
        self, auth: AuthorizationRequest, user: TestUser, session: ProviderSession
    ) -> Response:
        code = secrets.token_urlsafe(48)
        with self._lock:
            self._issued.append(code)
            session.client_ids.add(auth.client_id)
            self._codes[code] = AuthorizationCode(
                request=auth,
                username=user.username,
                sid=session.sid,
                auth_time=session.auth_time,
                expires_at=time.time() + CODE_LIFETIME,
            )
        response = self._authorization_response(
            auth,
            {"code": code, "client_info": self._client_info(user), "session_state": session.sid},
        )
        response.set_cookie(
            SESSION_COOKIE, session.sid, secure=True, httponly=True, samesite="None", path="/"
        )
        return response

    def _authorization_response(
        self, auth: AuthorizationRequest, params: Mapping[str, str]
    ) -> Response:
        answer = dict(params)
        if auth.state is not None:
            answer["state"] = auth.state
        if auth.response_mode == "form_post":
            return _html(pages.form_post_page(auth.redirect_uri, answer))
        if auth.response_mode == "fragment":
            return _redirect(f"{auth.redirect_uri}#{urlencode(answer)}")
        return _redirect(_add_query(auth.redirect_uri, answer))

    def _authorize_error_redirect(self, request: Request, exc: OAuthError) -> Response | None:
        """An injected authorize error, sent back to the client if its request is valid."""
        if "request_id" in request.form:
            with self._lock:
                auth = self._pending.get(request.form["request_id"])
        else:
            try:
                auth = self._parse_authorization_request(request.values)
            except OAuthError:
                auth = None
        if auth is None:
            return None
        params = {"error": exc.error, "error_description": exc.description}
        if exc.suberror:
            params["error_subcode"] = exc.suberror
        return self._authorization_response(auth, params)

    # -- token -----------------------------------------------------------------------

    def _handle_token(self, request: Request, tenant: str) -> Response:
        form = request.form
        client = self._authenticate_client(request)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            body = self._redeem_code(client, form)
        elif grant_type == "refresh_token":
            body = self._redeem_refresh_token(client, form)
        elif not grant_type:
            raise OAuthError(
                "invalid_request",
                "AADSTS900144: The request body must contain the following parameter: "
                "'grant_type'.",
            )
        else:
            raise OAuthError(
                "unsupported_grant_type",
                f"AADSTS70003: The app requested an unsupported grant type '{grant_type}'.",
            )
        return _json(body)

    def _authenticate_client(self, request: Request) -> RegisteredClient:
        form = request.form
        basic_id = basic_secret = None
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            basic_id = unquote_plus(auth.username or "")
            basic_secret = unquote_plus(auth.password or "")
        client_id = form.get("client_id") or basic_id
        if not client_id:
            raise OAuthError(
                "invalid_request",
                "AADSTS900144: The request body must contain the following parameter: 'client_id'.",
            )
        with self._lock:
            client = self._clients.get(client_id)
        if client is None:
            raise OAuthError(
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{client_id}' was not found in "
                "the directory.",
            )
        secret = basic_secret if basic_id == client_id else None
        secret = secret or form.get("client_secret")
        if not secret:
            raise OAuthError(
                "invalid_client",
                "AADSTS7000218: The request body must contain the following parameter: "
                "'client_assertion' or 'client_secret'.",
                status=401,
            )
        if not hmac.compare_digest(secret.encode(), client.client_secret.encode()):
            raise OAuthError(
                "invalid_client",
                f"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent "
                f"in the request is the client secret value for app '{client_id}'.",
                status=401,
            )
        return client

    def _redeem_code(self, client: RegisteredClient, form: Mapping[str, str]) -> dict[str, Any]:
        code_value = form.get("code")
        if not code_value:
            raise OAuthError(
                "invalid_request",
                "AADSTS900144: The request body must contain the following parameter: 'code'.",
            )
        with self._lock:
            code = self._codes.get(code_value)
            if code is None or code.request.client_id != client.client_id:
                raise OAuthError(
                    "invalid_grant",
                    "AADSTS9002313: Invalid request. Request is malformed or invalid: the "
                    "authorization code is not valid for this client.",
                )
            if code.redeemed:
                # A replayed code may be a stolen one: revoke what the first use issued.
                for token in code.refresh_tokens:
                    self._refresh_tokens[token].revoked = True
                raise OAuthError(
                    "invalid_grant",
                    "AADSTS54005: OAuth2 Authorization code was already redeemed, please "
                    "retry with a new valid code or use an existing refresh token.",
                )
            code.redeemed = True  # Single use, whatever the outcome.
        if code.expires_at < time.time():
            raise OAuthError(
                "invalid_grant",
                "AADSTS70008: The provided authorization code or refresh token has expired "
                "due to inactivity.",
            )
        if form.get("redirect_uri") != code.request.redirect_uri:
            raise OAuthError(
                "invalid_grant",
                "AADSTS50011: The redirect URI specified in the request does not match the "
                "redirect URI used to request the authorization code.",
            )
        verifier = form.get("code_verifier", "")
        challenge = _b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
        if not verifier or not hmac.compare_digest(challenge, code.request.code_challenge):
            raise OAuthError(
                "invalid_grant",
                "AADSTS50148: The code_verifier does not match the code_challenge supplied in "
                "the authorization request for PKCE.",
            )
        scopes = _parse_scopes(form.get("scope")) or code.request.scopes
        return self._issue_tokens(
            client,
            self.users[code.username],
            scopes,
            sid=code.sid,
            auth_time=code.auth_time,
            nonce=code.request.nonce,
            code=code,
        )

    def _redeem_refresh_token(
        self, client: RegisteredClient, form: Mapping[str, str]
    ) -> dict[str, Any]:
        value = form.get("refresh_token")
        if not value:
            raise OAuthError(
                "invalid_request",
                "AADSTS900144: The request body must contain the following parameter: "
                "'refresh_token'.",
            )
        with self._lock:
            token = self._refresh_tokens.get(value)
            if token is None or token.client_id != client.client_id:
                raise OAuthError(
                    "invalid_grant",
                    "AADSTS9002313: Invalid request. Request is malformed or invalid: the "
                    "refresh token is not valid for this client.",
                )
            if token.revoked:
                raise OAuthError(
                    "invalid_grant",
                    "AADSTS50173: The provided grant has expired due to it being revoked, a "
                    "fresh auth token is needed. The user might have changed or reset their "
                    "password.",
                )
            if token.expires_at < time.time():
                raise OAuthError(
                    "invalid_grant",
                    "AADSTS700082: The refresh token has expired due to inactivity.",
                )
            if token.used and self.strict_refresh_token_rotation:
                raise OAuthError(
                    "invalid_grant",
                    "AADSTS70000: The provided value for the 'refresh_token' is not valid: it "
                    "was already used and refresh tokens are single-use here.",
                )
            token.used = True
        scopes = _parse_scopes(form.get("scope")) or token.scopes
        return self._issue_tokens(
            client,
            self.users[token.username],
            scopes,
            sid=token.sid,
            auth_time=token.auth_time,
            nonce=None,
            code=None,
        )

    def _missing_consent(self, username: str, client_id: str, scopes: Iterable[str]) -> list[str]:
        with self._lock:
            granted = self._consents.get((username, client_id), set())
            return [
                scope
                for scope in scopes
                if scope not in OIDC_SCOPES
                and _split_scope(scope)[1] != ".default"
                and _split_scope(scope) not in granted
            ]

    def _issue_tokens(
        self,
        client: RegisteredClient,
        user: TestUser,
        scopes: Sequence[str],
        *,
        sid: str,
        auth_time: int,
        nonce: str | None,
        code: AuthorizationCode | None,
    ) -> dict[str, Any]:
        resource_scopes = [s for s in scopes if s not in OIDC_SCOPES]
        resources = {_split_scope(s)[0] for s in resource_scopes}
        if len(resources) > 1:
            raise OAuthError(
                "invalid_scope",
                "AADSTS28000: Provided value for the input parameter scope is not valid because "
                "it contains more than one resource. Scope "
                f"{' '.join(resource_scopes)} is not valid.",
            )
        missing = self._missing_consent(user.username, client.client_id, scopes)
        if missing:
            raise OAuthError(
                "invalid_grant",
                f"AADSTS65001: The user or administrator has not consented to use the "
                f"application with ID '{client.client_id}'. Send an interactive authorization "
                f"request for this user and resource. Missing: {' '.join(missing)}.",
                suberror="consent_required",
            )
        resource = resources.pop() if resources else GRAPH_RESOURCE
        names = [_split_scope(s)[1] for s in resource_scopes]
        if ".default" in names:
            with self._lock:
                granted = self._consents.get((user.username, client.client_id), set())
            names = sorted({n for r, n in granted if r == resource} | set(names) - {".default"})
        if not resource_scopes:
            names = [s for s in scopes if s in OIDC_SCOPES and s != "offline_access"]
        now = _now()
        common = {
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "oid": user.oid,
            "tid": user.tid,
            "sub": self._pairwise_sub(user, client.client_id),
            "sid": sid,
            "name": user.name,
            "preferred_username": user.preferred_username,
            "ver": "2.0",
        }
        lifetime = int(self.access_token_lifetime)
        access_token = self._keys.sign(
            {
                **common,
                "aud": resource,
                "exp": now + lifetime,
                "scp": " ".join(names),
                "azp": client.client_id,
                "azpacr": "1",
                "idtyp": "user",
                "uti": secrets.token_urlsafe(16),
            }
        )
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join(resource_scopes or names),
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
        }
        if "offline_access" in scopes or code is None:
            refresh_token = secrets.token_urlsafe(64)
            with self._lock:
                self._refresh_tokens[refresh_token] = IssuedRefreshToken(
                    client_id=client.client_id,
                    username=user.username,
                    sid=sid,
                    auth_time=auth_time,
                    scopes=tuple(scopes),
                    expires_at=time.time() + self.refresh_token_lifetime,
                )
                if code is not None:
                    code.refresh_tokens.append(refresh_token)
            body["refresh_token"] = refresh_token
        if "openid" in scopes:
            id_claims = {
                **common,
                "aud": client.client_id,
                "exp": now + ID_TOKEN_LIFETIME,
                "auth_time": auth_time,
                "email": user.email,
                "uti": secrets.token_urlsafe(16),
            }
            if nonce is not None:
                id_claims["nonce"] = nonce
            if self.login_hint_claim:
                hint = f"{user.oid}.{user.tid}@{self.issuer}".encode()
                id_claims["login_hint"] = base64.urlsafe_b64encode(hint).decode()
            body["id_token"] = self._keys.sign(id_claims)
        body["client_info"] = self._client_info(user)
        with self._lock:
            self._issued += [
                body[k] for k in ("access_token", "refresh_token", "id_token") if k in body
            ]
        return body

    # -- the protected API ----------------------------------------------------------

    def _handle_api(self, request: Request, tenant: None) -> Response:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            response = _json(
                {"error": {"code": "InvalidAuthenticationToken", "message": "Token missing."}},
                401,
            )
            response.headers["WWW-Authenticate"] = (
                f'Bearer realm="{self.base_url}", '
                f'authorization_uri="{self.authority}/oauth2/v2.0/authorize"'
            )
            return response
        try:
            claims = self._keys.verify(token.strip(), issuer=self.issuer)
            user = next(u for u in self.users.values() if u.oid == claims.get("oid"))
            if "scp" not in claims:
                raise jwt.InvalidTokenError("not an access token")
        except (jwt.InvalidTokenError, StopIteration) as exc:
            message = str(exc) or "The token is not valid."
            response = _json(
                {"error": {"code": "InvalidAuthenticationToken", "message": message}}, 401
            )
            response.headers["WWW-Authenticate"] = (
                f'Bearer realm="{self.base_url}", error="invalid_token", '
                f'error_description="{message.replace(chr(34), chr(39))}"'
            )
            return response
        return _json(
            {
                "@odata.context": f"{self.base_url}/v1.0/$metadata#users/$entity",
                "id": user.oid,
                "displayName": user.name,
                "userPrincipalName": user.preferred_username,
                "mail": user.email,
                "scopes": str(claims["scp"]).split(),
            }
        )

    # -- end session ------------------------------------------------------------------

    def _handle_logout(self, request: Request, tenant: str) -> Response:
        values = request.values
        hint_claims: dict[str, Any] = {}
        if values.get("id_token_hint"):
            try:
                hint_claims = self._keys.verify(
                    values["id_token_hint"], issuer=self.issuer, verify_exp=False
                )
            except jwt.InvalidTokenError:
                logger.warning("Ignoring an id_token_hint this provider did not issue.")
        client_id = values.get("client_id") or hint_claims.get("aud")
        session = self._current_session(request)
        if session is None and hint_claims.get("sid"):
            with self._lock:
                session = self._sessions.get(str(hint_claims["sid"]))
        client_ids: list[str] = []
        frontchannel: list[str] = []
        if session is not None:
            with self._lock:
                session.active = False
                for token in self._refresh_tokens.values():
                    if token.sid == session.sid:
                        token.revoked = True
                client_ids = sorted(session.client_ids)
                clients = [self._clients[cid] for cid in client_ids if cid in self._clients]
            for client in clients:
                if client.frontchannel_logout_uri:
                    frontchannel.append(
                        _add_query(
                            client.frontchannel_logout_uri,
                            {"iss": self.issuer, "sid": session.sid},
                        )
                    )
                if client.backchannel_logout_uri:
                    self._send_backchannel_logout(client, client.backchannel_logout_uri, session)
        redirect_url = self._post_logout_redirect(values, client_id, client_ids)
        response = _html(
            pages.signed_out_page(frontchannel_logout_urls=frontchannel, redirect_url=redirect_url)
        )
        response.delete_cookie(
            SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="None"
        )
        return response

    def _post_logout_redirect(
        self, values: Mapping[str, str], client_id: str | None, signed_in: Sequence[str]
    ) -> str | None:
        uri = values.get("post_logout_redirect_uri")
        if not uri:
            return None
        candidates = [client_id] if client_id else list(signed_in)
        clients = self.clients
        allowed = any(
            uri in clients[cid].post_logout_redirect_uris for cid in candidates if cid in clients
        )
        if not allowed:  # Never an open redirect.
            logger.warning("Ignoring a post_logout_redirect_uri that is not registered.")
            return None
        state = values.get("state")
        return _add_query(uri, {"state": state}) if state else uri

    def _send_backchannel_logout(
        self, client: RegisteredClient, uri: str, session: ProviderSession
    ) -> None:
        logout_token = self.logout_token(client.client_id, session.username, session.sid)
        status_code: int | None = None
        error: str | None = None
        try:
            with self.http_client() as http:
                response = http.post(uri, data={"logout_token": logout_token}, timeout=5)
            status_code = response.status_code
            if not response.ok:
                logger.warning(
                    "Back-channel logout to %s for client %s answered %s.",
                    uri,
                    client.client_id,
                    status_code,
                )
        except requests.RequestException as exc:
            error = type(exc).__name__
            logger.warning(
                "Back-channel logout to %s for client %s failed: %s.", uri, client.client_id, error
            )
        with self._lock:
            self._backchannel_logouts.append(
                BackchannelLogout(
                    client.client_id, uri, session.sid, logout_token, status_code, error
                )
            )


def _error_text(response: requests.Response) -> str:
    match = re.search(r'<code id="error">(.*?)</code>', response.text, re.DOTALL)
    detail = unescape(match.group(1)) if match else response.text[:500]
    return f"The identity provider answered {response.status_code}: {detail}"


def _form_post_as_url(page: str) -> str:
    action = re.search(r'<form method="post" action="([^"]*)" id="form-post">', page)
    if action is None:
        raise SignInError("Unreadable form_post page.")
    fields = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    return _add_query(unescape(action.group(1)), {unescape(k): unescape(v) for k, v in fields})


# Used by __main__ and the pytest plugin; kept here so both stay in step.
DEFAULT_CLIENT_ID = "msal-django-example"
DEFAULT_CLIENT_SECRET = "example-secret"
DEFAULT_REDIRECT_URIS = (
    "http://127.0.0.1:8000/auth/callback/",
    "http://localhost:8000/auth/callback/",
)
DEFAULT_POST_LOGOUT_REDIRECT_URIS = ("http://127.0.0.1:8000/", "http://localhost:8000/")
DEFAULT_USERS = (("alice", "Alice Example"), ("bob", "Bob Example"))


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
