"""Microsoft Graph's wire format, as far as the Graph-like API serves it: a user entity
with ``@odata.context`` and ``$select``, and OData error bodies with their ``innerError``.

Sources (Microsoft Learn): "Get user" (learn.microsoft.com/graph/api/user-get: the
default properties, ``$select``, the permissions), "Use the $select query parameter"
(learn.microsoft.com/graph/query-parameters#select-parameter: only the listed
properties, with ``@odata.context`` naming them) and "Microsoft Graph error responses
and resource types" (learn.microsoft.com/graph/errors: the error body, its codes, and
``innerError`` with ``date``, ``request-id`` and ``client-request-id``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from .records import TestUser
from .web import json_response

# Graph's default user properties (user-get), in Graph's order; what the provider does
# not know of a user is null, as on Graph for a property that was never set.
DEFAULT_USER_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
# Properties returned only when ``$select`` names them.
SELECTABLE_USER_PROPERTIES = (*DEFAULT_USER_PROPERTIES, "accountEnabled", "userType")
USER_TYPE = "microsoft.graph.user"


class GraphError(Exception):
    """A Graph error answer: its HTTP status, ``error.code`` and ``error.message``."""

    def __init__(self, status: int, code: str, message: str, challenge: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.challenge = challenge  # the WWW-Authenticate value of a 401

    def response(self, request: Request) -> Response:
        response = error_response(request, self.status, self.code, self.message)
        if self.challenge is not None:
            response.headers["WWW-Authenticate"] = self.challenge
        return response


def unauthorized(message: str, challenge: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message, challenge)


def forbidden() -> GraphError:
    return GraphError(
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


def not_found(resource: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{resource}' does not exist or one of its queried reference-property "
        "objects are not present.",
    )


def bad_request(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def error_response(request: Request, status: int, code: str, message: str) -> Response:
    """Graph's OData error body, with the ``request-id`` and ``client-request-id`` it also
    sends as headers (the client's own ``client-request-id`` echoed when it sent one)."""
    request_id = str(uuid.uuid4())
    client_request_id = request.headers.get("client-request-id") or request_id
    inner = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id,
        "client-request-id": client_request_id,
    }
    body = {"error": {"code": code, "message": message, "innerError": inner}}
    response = json_response(body, status)
    response.headers["request-id"] = request_id
    response.headers["client-request-id"] = client_request_id
    return response


def user_entity(
    base_url: str, user: TestUser, request: Request, *, enabled: bool = True
) -> dict[str, Any]:
    """A user as Graph returns it: the default properties, or with ``$select`` only the
    listed ones; ``@odata.context`` names the selection as Graph's does."""
    values: Mapping[str, Any] = {
        "businessPhones": [],
        "displayName": user.name,
        "mail": user.email,
        "userPrincipalName": user.preferred_username,
        "id": user.oid,
        "accountEnabled": enabled,
        "userType": "Member",
    }
    selected = select(request, SELECTABLE_USER_PROPERTIES, USER_TYPE)
    names = selected or DEFAULT_USER_PROPERTIES
    context = f"users({','.join(selected)})" if selected else "users"
    return {
        "@odata.context": f"{base_url}/v1.0/$metadata#{context}/$entity",
        **{name: values.get(name) for name in names},
    }


def select(request: Request, known: tuple[str, ...], type_name: str) -> tuple[str, ...]:
    """The properties ``$select`` names (Graph's spelling, matched without regard to case,
    once each), or ``()`` without one; 400 for a property the type does not have."""
    value = request.args.get("$select", "")
    by_lower = {name.lower(): name for name in known}
    names: list[str] = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        name = by_lower.get(item.lower())
        if name is None:
            raise bad_request(f"Could not find a property named '{item}' on type '{type_name}'.")
        if name not in names:
            names.append(name)
    return tuple(names)
