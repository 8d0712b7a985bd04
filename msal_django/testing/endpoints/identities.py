"""The endpoints of workload identities: Azure App Service's managed identity endpoint
(``IDENTITY_ENDPOINT``), and the simulated Kubernetes issuer's discovery and keys.

The managed identity endpoint answers as App Service's does (API version 2019-08-01,
what MSAL Python's ``ManagedIdentityClient`` sends when ``IDENTITY_ENDPOINT`` and
``IDENTITY_HEADER`` are set): ``GET ?api-version=2019-08-01&resource=...`` with
``client_id``, ``object_id`` or ``mi_res_id`` naming a user-assigned identity (none: the
system-assigned one) and the header ``X-IDENTITY-HEADER``; the token comes with
``expires_on`` in epoch seconds, a string; errors are ``{"statusCode", "message",
"correlationId"}`` (an unknown identity: 400 "Unable to load the proper Managed
Identity."). Source: Microsoft Learn, "How to use managed identities for App Service and
Azure Functions", REST endpoint reference.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Mapping

from jwt.algorithms import RSAAlgorithm
from werkzeug.wrappers import Request, Response

from ..context import Context
from ..keys import key_id
from ..minting import managed_identity_token, now
from ..records import ManagedIdentity
from ..web import json_response
from ..workload import JWKS_PATH

API_VERSION = "2019-08-01"
IDENTITY_HEADER = "X-IDENTITY-HEADER"


def handle_managed_identity(ctx: Context, request: Request, tenant: str | None) -> Response:
    header = request.headers.get(IDENTITY_HEADER)
    if not header:
        return _error(400, f"The request is missing the {IDENTITY_HEADER} header.")
    if not hmac.compare_digest(header.encode(), ctx.state.identity_header.encode()):
        return _error(401, f"The {IDENTITY_HEADER} header is not valid.")
    if request.args.get("api-version") != API_VERSION:
        return _error(400, f"The api-version must be {API_VERSION}.")
    resource = request.args.get("resource")
    if not resource:
        return _error(400, "The request is missing the resource parameter.")
    with ctx.state.lock:
        identities = dict(ctx.state.managed_identities)
    identity = find_identity(identities, request.args)
    if identity is None:
        return _error(400, "Unable to load the proper Managed Identity.")
    token = managed_identity_token(ctx, identity, resource)
    return json_response(
        {
            "access_token": token,
            "expires_on": str(now() + int(ctx.state.access_token_lifetime)),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": identity.client_id,
        }
    )


def find_identity(
    identities: Mapping[str, ManagedIdentity], args: Mapping[str, str]
) -> ManagedIdentity | None:
    """The identity ``client_id``, ``object_id`` or ``mi_res_id`` names, or with none
    of them the system-assigned identity."""
    client_id, object_id = args.get("client_id"), args.get("object_id")
    resource_id = args.get("mi_res_id")
    for identity in identities.values():
        if client_id or object_id or resource_id:
            if (
                (client_id and client_id.lower() == identity.client_id.lower())
                or (object_id and object_id.lower() == identity.object_id.lower())
                or (resource_id and resource_id.lower() == identity.resource_id.lower())
            ):
                return identity
        elif identity.system_assigned:
            return identity
    return None


def _error(status: int, message: str) -> Response:
    correlation_id = str(uuid.uuid4())
    body = {"statusCode": status, "message": message, "correlationId": correlation_id}
    response = json_response(body, status)
    response.headers["X-CORRELATION-ID"] = correlation_id
    return response


def handle_workload_discovery(ctx: Context, request: Request, tenant: str | None) -> Response:
    return json_response(
        {
            "issuer": ctx.workload_issuer,
            "jwks_uri": f"{ctx.workload_issuer}{JWKS_PATH}",
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }
    )


def handle_workload_jwks(ctx: Context, request: Request, tenant: str | None) -> Response:
    public_key = ctx.keys.workload_key.public_key()
    jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    jwk.update(kid=key_id(public_key), use="sig", alg="RS256")
    return json_response({"keys": [jwk]})
