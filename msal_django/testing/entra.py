"""Entra's rules, as far as the local provider follows them (simplified):

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
- ID tokens carry the user's ``roles`` and ``groups``; with more than
  ``GROUPS_CLAIM_LIMIT`` groups (or the user's ``overage`` flag) the groups are replaced by
  ``_claim_names``/``_claim_sources`` (group overage), and Graph's
  ``/v1.0/me/transitiveMemberOf`` lists them, in pages, to a token with one of
  ``MEMBERSHIP_SCOPES``.
- Errors carry an ``AADSTS`` code in their description and come back as Entra's JSON
  error body (trace and correlation ids, ``error_codes``), or as a page to a browser.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence, Set
from datetime import UTC, datetime
from typing import Any

from .records import USER_DOMAIN, InjectedFailure, OAuthError, Permission, TestUser

GRAPH_RESOURCE = "https://graph.microsoft.com"
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
TENANT_ALIASES = frozenset({"common", "organizations"})
GROUPS_CLAIM_LIMIT = 200  # Entra's limit for groups in a JWT
# Delegated Graph permissions that may list a user's memberships.
MEMBERSHIP_SCOPES = frozenset(
    {"GroupMember.Read.All", "Group.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"}
)

_OID_NAMESPACE = uuid.UUID("0f1d8a34-7b1e-4b8e-a0c5-6d2e9a4f3b21")

# -- users and tenants -------------------------------------------------------------


def new_user(
    tenant_id: str, username: str, name: str | None = None, email: str | None = None
) -> TestUser:
    """A user whose ``oid`` is stable per tenant and user name."""
    local = username.split("@", 1)[0]
    preferred = username if "@" in username else f"{username}@{USER_DOMAIN}"
    return TestUser(
        username=username,
        name=name or local.replace(".", " ").replace("_", " ").title(),
        email=email or preferred,
        oid=str(uuid.uuid5(_OID_NAMESPACE, f"{tenant_id}/{username}")),
        tid=tenant_id,
    )


def check_tenant(tenant: str, tenant_id: str, *, page: bool) -> None:
    """A tenant in a URL path must be ours or one of the multi-tenant aliases."""
    if tenant.lower() != tenant_id.lower() and tenant.lower() not in TENANT_ALIASES:
        raise OAuthError(
            "invalid_tenant",
            f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the "
            "correct tenant ID and are signing into the correct cloud.",
            page=page,
        )


def authorization_claims(user: TestUser) -> dict[str, Any]:
    """The ``roles`` and ``groups`` claims of a user's ID token (or the overage form)."""
    claims: dict[str, Any] = {}
    if user.roles:
        claims["roles"] = list(user.roles)
    if user.overage or len(user.groups) > GROUPS_CLAIM_LIMIT:
        claims["_claim_names"] = {"groups": "src1"}
        claims["_claim_sources"] = {
            "src1": {
                "endpoint": f"https://graph.windows.net/{user.tid}/users/{user.oid}/getMemberObjects"
            }
        }
    elif user.groups:
        claims["groups"] = list(user.groups)
    return claims


# -- scopes and consent ------------------------------------------------------------


def parse_scopes(scope: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys((scope or "").split()))


def split_scope(scope: str) -> Permission:
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


def grants(scopes: Iterable[str]) -> set[Permission]:
    """The (resource, name) pairs that consenting to ``scopes`` grants."""
    return {split_scope(s) for s in scopes if s not in OIDC_SCOPES}


def missing_consent(scopes: Iterable[str], granted: Set[Permission]) -> list[str]:
    return [
        scope
        for scope in scopes
        if scope not in OIDC_SCOPES
        and split_scope(scope)[1] != ".default"
        and split_scope(scope) not in granted
    ]


def token_scopes(
    client_id: str, scopes: Sequence[str], granted: Set[Permission]
) -> tuple[str, list[str], list[str]]:
    """``(aud, scp names, resource scopes)`` of a token for ``scopes``: one resource
    per token, every scope consented, ``.default`` = all that is granted on it."""
    resource_scopes = [s for s in scopes if s not in OIDC_SCOPES]
    resources = {split_scope(s)[0] for s in resource_scopes}
    if len(resources) > 1:
        raise OAuthError(
            "invalid_scope",
            "AADSTS28000: Provided value for the input parameter scope is not valid because "
            "it contains more than one resource. Scope "
            f"{' '.join(resource_scopes)} is not valid.",
        )
    missing = missing_consent(scopes, granted)
    if missing:
        raise OAuthError(
            "invalid_grant",
            f"AADSTS65001: The user or administrator has not consented to use the "
            f"application with ID '{client_id}'. Send an interactive authorization "
            f"request for this user and resource. Missing: {' '.join(missing)}.",
            suberror="consent_required",
        )
    resource = resources.pop() if resources else GRAPH_RESOURCE
    names = [split_scope(s)[1] for s in resource_scopes]
    if ".default" in names:
        names = sorted({n for r, n in granted if r == resource} | set(names) - {".default"})
    if not resource_scopes:
        names = [s for s in scopes if s in OIDC_SCOPES and s != "offline_access"]
    return resource, names, resource_scopes


# -- the error catalogue -----------------------------------------------------------


def missing_parameter(name: str) -> OAuthError:
    return OAuthError(
        "invalid_request",
        f"AADSTS900144: The request body must contain the following parameter: '{name}'.",
    )


def unknown_client(client_id: str, hint: str = "", *, page: bool = False) -> OAuthError:
    return OAuthError(
        "unauthorized_client",
        f"AADSTS700016: Application with identifier '{client_id}' was not found in "
        f"the directory.{hint}",
        page=page,
    )


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


def injected_error(endpoint: str, failure: InjectedFailure) -> OAuthError:
    """The error an injected failure stands for, with an AADSTS code in its description."""
    assert failure.error is not None
    code = _INJECTED_CODES.get(failure.error, 50000)
    if failure.suberror == "consent_required":
        code = 65001
    description = failure.error_description or (
        f"AADSTS{code}: Injected {failure.error} for the {endpoint} endpoint."
    )
    if not description.startswith("AADSTS"):
        description = f"AADSTS{code}: {description}"
    return OAuthError(failure.error, description, status=failure.status, suberror=failure.suberror)


def error_body(exc: OAuthError, correlation_id: str | None, base_url: str) -> dict[str, Any]:
    """Entra's JSON error answer."""
    trace_id = str(uuid.uuid4())
    correlation_id = correlation_id or str(uuid.uuid4())
    timestamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
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
        body["error_uri"] = f"{base_url}/error?code={codes[0]}"
    if exc.suberror:
        body["suberror"] = exc.suberror
    return body
