"""``IdentityProvider``'s secretless credentials: what an app registration holds besides a
secret (certificates, federated identity credentials), the workload identity tokens a
Kubernetes cluster would project, and the managed identities an App Service would serve.

The token endpoint checks them in ``client_auth.py``; the managed identity endpoint and
the workload issuer's discovery are in ``endpoints/identities.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from cryptography import x509

from .certificates import ClientCertificate, load_certificate
from .records import FederatedCredential, ManagedIdentity, RegisteredClient
from .state import ProviderState
from .workload import TOKEN_EXCHANGE_AUDIENCE, workload_identity_token

if TYPE_CHECKING:
    from .context import Context

# Where the managed identities' resource ids say they live (any subscription will do).
RESOURCE_GROUP = "msal-django-testing"


class SecretlessCredentials:
    """Certificates, federated credentials, workload and managed identity tokens."""

    _state: ProviderState

    if TYPE_CHECKING:

        def _context(self) -> Context: ...

    # -- an app registration's credentials ----------------------------------------------

    def add_client_certificate(
        self, client_id: str, certificate: x509.Certificate | ClientCertificate | str | bytes
    ) -> x509.Certificate:
        """Upload a certificate (or its PEM) to the app: client assertions signed with its
        key and naming it by ``x5t`` or ``x5t#S256`` authenticate the app. Several may be
        registered at once (rotation); an expired one is refused (AADSTS700027)."""
        added = load_certificate(certificate)
        self._change_client(
            client_id,
            lambda c: replace(c, certificates=(*[x for x in c.certificates if x != added], added)),
        )
        return added

    def remove_client_certificate(
        self, client_id: str, certificate: x509.Certificate | ClientCertificate | str | bytes
    ) -> None:
        """Remove a certificate from the app (nothing happens if it had none such)."""
        removed = load_certificate(certificate)
        self._change_client(
            client_id,
            lambda c: replace(c, certificates=tuple(x for x in c.certificates if x != removed)),
        )

    def add_federated_credential(
        self,
        client_id: str,
        issuer: str,
        subject: str,
        audience: str = TOKEN_EXCHANGE_AUDIENCE,
    ) -> FederatedCredential:
        """Add a federated identity credential to the app: a token of ``issuer`` with this
        ``subject`` and ``audience`` is then its client assertion. The provider verifies
        the tokens of two issuers: ``workload_issuer`` and its own ``issuer`` (managed
        identity tokens, whose subject is the identity's object id)."""
        credential = FederatedCredential(issuer, subject, audience)
        self._change_client(
            client_id,
            lambda c: replace(
                c,
                federated_credentials=(
                    *[x for x in c.federated_credentials if x != credential],
                    credential,
                ),
            ),
        )
        return credential

    def _change_client(
        self, client_id: str, change: Callable[[RegisteredClient], RegisteredClient]
    ) -> None:
        with self._state.lock:
            client = self._state.clients.get(client_id)
            if client is None:
                raise ValueError(f"No client {client_id!r}: call register_client() first.")
            self._state.clients[client_id] = change(client)

    @property
    def refuse_reused_assertions(self) -> bool:
        """Refuse a client assertion whose ``jti`` was seen before (Entra documents no
        such check, and MSAL reuses a certificate assertion for minutes: off by default)."""
        return self._state.refuse_reused_assertions

    @refuse_reused_assertions.setter
    def refuse_reused_assertions(self, refuse: bool) -> None:
        self._state.refuse_reused_assertions = refuse

    # -- Kubernetes workload identity -------------------------------------------------

    @property
    def workload_issuer(self) -> str:
        """The simulated Kubernetes service-account issuer (``<base_url>/workload-issuer``,
        with its discovery document and JWKS), for ``add_federated_credential``."""
        return self._context().workload_issuer

    def workload_identity_token(
        self,
        subject: str = "system:serviceaccount:default:default",
        audience: str = TOKEN_EXCHANGE_AUDIENCE,
        lifetime: int = 3600,
        *,
        issued_at: float | None = None,
    ) -> str:
        """A service-account token of ``workload_issuer``, what Kubernetes projects into
        ``AZURE_FEDERATED_TOKEN_FILE``. ``issued_at`` (epoch seconds; default now) and
        ``lifetime`` make expired or not-yet-valid ones. Joins ``issued_secrets()``."""
        return workload_identity_token(self._context(), subject, audience, lifetime, issued_at)

    # -- managed identities (App Service's endpoint) ----------------------------------

    def add_managed_identity(
        self,
        client_id: str | None = None,
        *,
        object_id: str | None = None,
        name: str | None = None,
        system_assigned: bool = False,
    ) -> ManagedIdentity:
        """A managed identity the managed identity endpoint serves tokens of (ids made up
        when not given). ``system_assigned``: the one a request naming none gets."""
        client_id = client_id or str(uuid.uuid4())
        name = name or ("app" if system_assigned else f"identity-{client_id[:8]}")
        # A system-assigned identity's resource is its App Service app.
        kind = "Web/sites" if system_assigned else "ManagedIdentity/userAssignedIdentities"
        subscription = uuid.uuid5(uuid.NAMESPACE_URL, self._context().tenant_id)
        identity = ManagedIdentity(
            client_id=client_id,
            object_id=object_id or str(uuid.uuid4()),
            resource_id=(
                f"/subscriptions/{subscription}/resourcegroups/{RESOURCE_GROUP}/providers/"
                f"Microsoft.{kind}/{name}"
            ),
            system_assigned=system_assigned,
        )
        with self._state.lock:
            identities = self._state.managed_identities
            for other in list(identities.values()):
                if other.client_id == client_id or (system_assigned and other.system_assigned):
                    del identities[other.object_id]
            identities[identity.object_id] = identity
        return identity

    @property
    def managed_identities(self) -> list[ManagedIdentity]:
        with self._state.lock:
            return list(self._state.managed_identities.values())

    def managed_identity_environment(self) -> dict[str, str]:
        """``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER`` as App Service sets them: with
        these in ``os.environ``, ``msal.ManagedIdentityClient`` (given ``http_client()``)
        asks this provider. ``IDENTITY_SERVER_THUMBPRINT`` must be unset (Service Fabric)."""
        return {
            "IDENTITY_ENDPOINT": self._context().managed_identity_endpoint,
            "IDENTITY_HEADER": self._state.identity_header,
        }
