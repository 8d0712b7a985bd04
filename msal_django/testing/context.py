"""What every endpoint is handed: the running provider's addresses, keys and state."""

from __future__ import annotations

from dataclasses import dataclass

from requests import Session

from .entra import new_user
from .keys import ProviderKeys
from .records import TestUser
from .state import ProviderState
from .web import https_session


@dataclass(frozen=True)
class Context:
    host: str
    port: int
    tenant_id: str
    keys: ProviderKeys
    state: ProviderState

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
    def token_endpoint(self) -> str:
        return f"{self.authority}/oauth2/v2.0/token"

    @property
    def workload_issuer(self) -> str:
        """The simulated Kubernetes service-account issuer (``testing.workload``)."""
        return f"{self.base_url}/workload-issuer"

    @property
    def managed_identity_endpoint(self) -> str:
        return f"{self.base_url}/msi/token"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1.0/me"

    @property
    def end_session_endpoint(self) -> str:
        return f"{self.authority}/oauth2/v2.0/logout"

    def http_client(self) -> Session:
        """A session that trusts this provider's CA (and ignores proxy/CA env vars)."""
        return https_session(self.keys.ca_file)

    def add_user(
        self, username: str, name: str | None = None, email: str | None = None
    ) -> TestUser:
        """Create a user (or return the existing one with that user name)."""
        return self.state.add_user(new_user(self.tenant_id, username, name, email))
