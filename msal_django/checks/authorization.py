"""Checks of the authorization settings: the claim mapping, Graph, the tenant allow-list."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from django.core.checks import CheckMessage, Error, Warning

MULTI_TENANT = frozenset({"common", "organizations"})


def _is_strings(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) and v for v in value)


def check_authorization(config: dict[str, Any]) -> list[CheckMessage]:
    """The mapping settings' types, GRAPH_URL, and a multi-tenant authority's allow-list."""
    wrong = [
        name
        for name, ok in (
            ("ROLE_CLAIMS", _is_strings(config["ROLE_CLAIMS"])),
            ("GRAPH_SCOPES", _is_strings(config["GRAPH_SCOPES"])),
            (
                "GROUP_MAP",
                isinstance(config["GROUP_MAP"], dict)
                and all(
                    isinstance(k, str) and isinstance(v, str) and v
                    for k, v in config["GROUP_MAP"].items()
                ),
            ),
            (
                "FLAG_MAP",
                isinstance(config["FLAG_MAP"], dict)
                and all(
                    isinstance(k, str) and _is_strings(v) for k, v in config["FLAG_MAP"].items()
                ),
            ),
            (
                "ALLOWED_TENANTS",
                config["ALLOWED_TENANTS"] is None or _is_strings(config["ALLOWED_TENANTS"]),
            ),
        )
        if not ok
    ]
    errors: list[CheckMessage] = [
        Error(
            f'MSAL_DJANGO["{name}"] has the wrong type.',
            hint="ROLE_CLAIMS, GRAPH_SCOPES, ALLOWED_TENANTS: lists of strings; GROUP_MAP: "
            '{"claim value": "group name"}; FLAG_MAP: {"is_staff": ["claim value", ...]}.',
            id="msal_django.E040",
        )
        for name in wrong
    ]
    graph = urlparse(config["GRAPH_URL"]) if isinstance(config["GRAPH_URL"], str) else None
    if graph is None or graph.scheme != "https" or not graph.netloc:
        errors.append(
            Error(
                f'MSAL_DJANGO["GRAPH_URL"] must be an https URL, not {config["GRAPH_URL"]!r}.',
                hint="Leave it unset for https://graph.microsoft.com/v1.0 (a national cloud "
                "has its own, e.g. https://graph.microsoft.us/v1.0).",
                id="msal_django.E041",
            )
        )
    authority = config["AUTHORITY"] if isinstance(config["AUTHORITY"], str) else ""
    tenant = urlparse(authority).path.strip("/").split("/")[0].lower()
    if tenant in MULTI_TENANT and config["ALLOWED_TENANTS"] is None:
        errors.append(
            Warning(
                f"The authority is multi-tenant ({tenant}) and ALLOWED_TENANTS is not set: "
                "any Entra tenant in the world can sign in.",
                hint='Set MSAL_DJANGO["ALLOWED_TENANTS"] to the tenant ids (tid) that may sign '
                "in, or use your tenant's own authority.",
                id="msal_django.W040",
            )
        )
    return errors
