"""A simulated Kubernetes service-account token issuer, hosted by the provider at
``<base_url>/workload-issuer``: its OpenID discovery document and JWKS are served there
(the paths a cluster's issuer serves; ``endpoints/identities.py``), so it looks to a
client like any external OIDC issuer, and it signs with its own key.

Its tokens are what Kubernetes projects into ``AZURE_FEDERATED_TOKEN_FILE`` for workload
identity: ``sub`` ``system:serviceaccount:<namespace>:<name>``, ``aud`` a list holding
``api://AzureADTokenExchange``, and the ``kubernetes.io`` claim. An app registration's
federated identity credential for (issuer, subject, audience) accepts them as its client
assertion (``testing.client_auth``).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

from .context import Context
from .keys import key_id

TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
JWKS_PATH = "/openid/v1/jwks"  # where a Kubernetes API server serves its issuer's keys
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


def workload_identity_token(
    ctx: Context,
    subject: str,
    audience: str,
    lifetime: int,
    issued_at: float | None = None,
) -> str:
    """A service-account token of the workload issuer (joins ``issued_secrets()``)."""
    start = int(time.time() if issued_at is None else issued_at)
    claims: dict[str, Any] = {
        "iss": ctx.workload_issuer,
        "sub": subject,
        "aud": [audience],
        "iat": start,
        "nbf": start,
        "exp": start + lifetime,
        "jti": str(uuid.uuid4()),
    }
    if subject.startswith(SERVICE_ACCOUNT_PREFIX) and subject.count(":") == 3:
        namespace, name = subject.split(":")[2:]
        uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.workload_issuer}/{subject}"))
        claims["kubernetes.io"] = {
            "namespace": namespace,
            "serviceaccount": {"name": name, "uid": uid},
        }
    key = ctx.keys.workload_key
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": key_id(key.public_key())})
    ctx.state.remember_issued(token)
    return token
