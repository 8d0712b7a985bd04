"""OpenID discovery, the signing keys (JWKS) and the provider's index page."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from .. import pages
from ..context import Context
from ..entra import TENANT_ALIASES
from ..web import html, json_response
from .authorize import RESPONSE_MODES
from .token import GRANTS

CLAIMS_SUPPORTED = (
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
)


def handle_index(ctx: Context, request: Request, tenant: str | None) -> Response:
    return html(
        pages.index_page(
            authority=ctx.authority,
            issuer=ctx.issuer,
            discovery_url=f"{ctx.issuer}/.well-known/openid-configuration",
        )
    )


def handle_discovery(ctx: Context, request: Request, tenant: str | None) -> Response:
    path_tenant = tenant if tenant and tenant.lower() in TENANT_ALIASES else ctx.tenant_id
    base = f"{ctx.base_url}/{path_tenant}"
    # A multi-tenant alias's issuer is a template: each tenant's tokens name their own.
    issuer = ctx.issuer if path_tenant == ctx.tenant_id else f"{ctx.base_url}/{{tenantid}}/v2.0"
    return json_response(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_types_supported": ["code"],
            "response_modes_supported": list(RESPONSE_MODES),
            "grant_types_supported": list(GRANTS),
            "subject_types_supported": ["pairwise"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "client_secret_basic",
                "private_key_jwt",
            ],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": list(CLAIMS_SUPPORTED),
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


def handle_jwks(ctx: Context, request: Request, tenant: str | None) -> Response:
    return json_response(ctx.keys.jwks())
