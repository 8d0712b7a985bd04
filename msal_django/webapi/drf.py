"""Django REST framework support (``pip install "msal-django[drf]"``).

    from msal_django.drf import BearerTokenAuthentication, HasRoles, HasScopes

    class OrderList(APIView):
        authentication_classes = [BearerTokenAuthentication]
        permission_classes = [HasScopes | HasRoles]
        required_scopes = ["access_as_user"]
        required_roles = ["Orders.Read.All"]

``BearerTokenAuthentication`` validates the token as ``require_token`` does and sets
``request.user`` (the linked Django user, or an ``AppCaller`` for app-only tokens) and
``request.auth`` (the ``bearer.AccessToken``: ``claims``, ``scopes``, ``roles``,
``delegated``). Its refusals are DRF's 401 with ``WWW-Authenticate: Bearer
error="invalid_token"``; ``HasScopes``/``HasRoles`` refuse with 403 and
``error="insufficient_scope"``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from msal_django.exceptions import ProviderError, StoreUnavailable
from msal_django.redact import loggable
from msal_django.signin.authorization import SignInRefused
from msal_django.webapi.bearer import AccessToken, InsufficientScope, InvalidBearerToken, authorize
from msal_django.webapi.require import (
    AppCaller,
    NoLinkedUser,
    authenticate,
    bearer_token,
    not_checked,
)

logger = logging.getLogger("msal_django.api")


class InvalidToken(exceptions.AuthenticationFailed):
    default_code = "invalid_token"


class TemporarilyUnavailable(exceptions.APIException):
    """The provider, the token store or the database did not answer: try again."""

    status_code = 503
    default_detail = "The identity provider or the token store is unavailable; try again."
    default_code = "temporarily_unavailable"


class BearerTokenAuthentication(BaseAuthentication):
    """Authenticates ``Authorization: Bearer <access token for this API>``."""

    def authenticate(self, request: Request) -> tuple[Any, AccessToken] | None:
        try:
            token = bearer_token(request._request)
            if token is None:
                return None  # no bearer credential: another class may authenticate it
            caller, access_token = authenticate(request, token)
        except InvalidBearerToken as exc:
            logger.info("API request refused: %s (%s)", exc, loggable(request.path))
            # DRF asks a new instance for the challenge: the reason goes on the request.
            request._request._msal_django_bearer_error = str(exc)  # type: ignore[attr-defined]
            raise InvalidToken(str(exc)) from None
        except NoLinkedUser as exc:
            logger.info("API request refused: %s (%s)", exc, loggable(request.path))
            raise exceptions.PermissionDenied(str(exc)) from None
        except SignInRefused as exc:  # a first call's groups could not be resolved
            logger.info("API request refused: %s (%s)", exc.error, loggable(request.path))
            if exc.status == 503:
                raise TemporarilyUnavailable() from None
            raise exceptions.PermissionDenied(str(exc.message)) from None
        except (ProviderError, StoreUnavailable, DatabaseError) as exc:
            not_checked(exc)
            raise TemporarilyUnavailable() from None
        return caller, access_token

    def authenticate_header(self, request: Request) -> str:
        error = getattr(request._request, "_msal_django_bearer_error", None)
        if error is None:
            return "Bearer"
        return (
            f'Bearer error="invalid_token", error_description="{error.replace(chr(34), chr(39))}"'
        )


class RequiresClaims(BasePermission):
    """Base of ``HasScopes`` and ``HasRoles``: the view names what the token must grant."""

    attribute = ""
    kind = ""

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, AccessToken):
            return False  # not authenticated by BearerTokenAuthentication: DRF answers 401
        required = tuple(getattr(view, self.attribute, ()) or ())
        if not required:
            raise ImproperlyConfigured(
                f"{type(self).__name__} needs {type(view).__name__}.{self.attribute}."
            )
        try:
            authorize(token, **{self.kind: required})
        except InsufficientScope as exc:
            logger.info("API request refused: %s (%s)", exc, loggable(request.path))
            self.message = str(exc)
            _challenge_if_denied(view, _insufficient_scope(exc))
            return False
        return True


def _challenge_if_denied(view: Any, challenge: str) -> None:
    """Send ``challenge`` (RFC 6750 3.1) with the 403 only if the view denies the
    request in the end: composed with ``|``, another permission may still grant it, and
    a granted request carries no challenge. DRF's exception handler sends an
    exception's ``auth_header`` as ``WWW-Authenticate``; the view is this request's own."""
    view._msal_django_challenge = challenge
    if getattr(view, "_msal_django_denial_wrapped", False):
        return
    denied = view.permission_denied

    def permission_denied(request: Request, message: Any = None, code: Any = None) -> None:
        try:
            denied(request, message=message, code=code)
        except exceptions.PermissionDenied as exc:
            exc.auth_header = view._msal_django_challenge  # type: ignore[attr-defined]
            raise

    view.permission_denied = permission_denied
    view._msal_django_denial_wrapped = True


def _insufficient_scope(exc: InsufficientScope) -> str:
    challenge = f'Bearer error="insufficient_scope", error_description="{exc}"'
    if exc.scopes:
        challenge += f', scope="{" ".join(exc.scopes)}"'
    return challenge


class HasScopes(RequiresClaims):
    """The delegated token grants one of the view's ``required_scopes`` (``scp``)."""

    attribute = "required_scopes"
    kind = "scopes"


class HasRoles(RequiresClaims):
    """The token holds one of the view's ``required_roles`` (``roles``: app-only
    tokens' application permissions, or a user's assigned app roles)."""

    attribute = "required_roles"
    kind = "roles"


__all__ = ["AppCaller", "BearerTokenAuthentication", "HasRoles", "HasScopes"]
