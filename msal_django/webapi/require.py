"""The site as a web API: ``require_token`` protects a view with Entra access tokens.

    from msal_django.api import require_token

    @require_token(scopes=["access_as_user"])
    def orders(request):
        ...  # request.user: the caller's Django user; request.msal_claims: the token's

A request without a valid ``Authorization: Bearer`` token gets ``401`` with
``WWW-Authenticate: Bearer error="invalid_token"`` (RFC 6750 3.1), one whose token grants
none of what the view requires gets ``403`` with ``error="insufficient_scope"`` and the
``scope`` needed. Each refusal is logged (``msal_django.api``, INFO) with its reason,
never the token.

Who the caller is: for a delegated token (``scp``), the Django user linked to the
token's ``oid``/``tid`` as at sign-in (``MsalBackend.identity_key``), created on first
call when ``CREATE_USERS`` allows; for an app-only token (client credentials, ``roles``
only), an ``AppCaller``: not a Django user, but ``is_authenticated`` like one.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.db import DatabaseError, connections, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from msal_django.backends import MsalBackend, msal_backend
from msal_django.conf import msal_settings
from msal_django.exceptions import InteractionRequired, ProviderError, StoreUnavailable
from msal_django.redact import Secret, describe, loggable
from msal_django.signin.authorization import SignInRefused, TokenSource
from msal_django.signout.removal import caller_account_id
from msal_django.webapi.bearer import (
    AccessToken,
    InsufficientScope,
    InvalidBearerToken,
    authorize,
    validate,
)
from msal_django.webapi.downstream import (
    BEARER_TOKEN_ATTRIBUTE,
    CALLER_ACCOUNT_ATTRIBUTE,
    get_token_on_behalf_of,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger("msal_django.api")

# RFC 6750 2.1: b64token. Anything else after "Bearer " is not a bearer token.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_MAX_HEADER = 16 * 1024 + 16


class AppCaller:
    """The caller of an app-only token (client credentials): an application, not a user.

    What Django and DRF ask of ``request.user`` works: ``is_authenticated`` is True,
    ``is_anonymous`` False, ``pk`` and ``id`` None (it has no row), no permission or
    group, not staff. Code that needs a ``User`` row (a ``ForeignKey``, ``login()``,
    DRF's ``UserRateThrottle``, which keys on ``pk``) must check ``is_app`` first.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    is_app = True
    pk = None
    id = None

    def __init__(self, token: AccessToken) -> None:
        self.client_id = token.client_id
        self.tenant_id = token.tenant_id
        self.object_id = str(token.claims.get("oid") or "")
        self.roles = token.roles
        self.username = f"app:{self.client_id}"

    def get_username(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def has_perms(self, perm_list: Iterable[str], obj: Any = None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False

    def __str__(self) -> str:
        return self.username

    def __repr__(self) -> str:
        return f"<AppCaller {self.client_id} tenant={self.tenant_id}>"


class NoLinkedUser(Exception):
    """A valid delegated token whose user has no account here (``CREATE_USERS`` is off,
    or the backend refused the claims, or the user is inactive)."""


def bearer_token(request: HttpRequest) -> str | None:
    """The bearer token of the ``Authorization`` header; None when there is no bearer
    credential at all; ``InvalidBearerToken`` when it is malformed."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    if len(header) > _MAX_HEADER:
        raise InvalidBearerToken("The Authorization header is too long.")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = str(value).strip()
    if not _B64TOKEN.fullmatch(value):
        raise InvalidBearerToken("The Authorization header holds no well-formed bearer token.")
    return value


def authenticate(
    request: HttpRequest, token: str
) -> tuple[AbstractBaseUser | AppCaller, AccessToken]:
    """Validate ``token`` and find its caller; remember both on ``request`` (for
    ``get_token_on_behalf_of``). Raises ``InvalidBearerToken``, ``NoLinkedUser``,
    ``ProviderError``."""
    access_token = validate(token)
    # DRF's Request wraps the HttpRequest: the attributes go on the HttpRequest. Set
    # before the caller is found: a first call's group overage is resolved on their behalf.
    target: Any = getattr(request, "_request", request)
    setattr(target, BEARER_TOKEN_ATTRIBUTE, Secret(token))
    target.msal_claims = access_token.claims
    if not access_token.delegated:
        return AppCaller(access_token), access_token
    backend = msal_backend()
    issuer, subject = backend.identity_key(access_token.claims)
    # Whose on-behalf-of partition the caller's downstream tokens live in.
    setattr(target, CALLER_ACCOUNT_ATTRIBUTE, caller_account_id(issuer, subject))
    caller = linked_user(access_token, CallerTokens(request), backend=backend)
    return caller, access_token


class CallerTokens:
    """Tokens on behalf of the API's caller (``get_token_on_behalf_of``): what a first
    call's group overage is resolved with, as a sign-in's own tokens are at sign-in."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    def acquire(self, scopes: Iterable[str]) -> str:
        return get_token_on_behalf_of(self.request, scopes)


def linked_user(
    token: AccessToken, tokens: TokenSource | None = None, *, backend: MsalBackend | None = None
) -> AbstractBaseUser:
    """The Django user of a delegated token, as ``backend`` (the project's
    ``MsalBackend``) matches it at sign-in. A first call creates the user
    (``CREATE_USERS``) with their groups and flags, group overage resolved with
    ``tokens``; ``SignInRefused`` when that fails, as at sign-in."""
    backend = backend or msal_backend()
    issuer, subject = backend.identity_key(token.claims)
    identity = backend.find_identity(issuer, subject)
    if identity is not None:
        user: AbstractBaseUser | None = identity.user
        if user is not None and backend.user_can_authenticate(user):
            return user
        raise NoLinkedUser("The token's user is inactive here.")
    # First call by this person: created as at sign-in (CREATE_USERS, verify_claims).
    user = (
        backend.authenticate(None, msal_claims=token.claims, msal_sign_in=tokens)
        if msal_settings.CREATE_USERS
        else None
    )
    if user is None:
        raise NoLinkedUser("The token's user has no account on this site.")
    return user


def require_token(
    scopes: Iterable[str] = (), roles: Iterable[str] = ()
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Protect a view (sync or async) with an access token for this site's API.

    The token must grant one of ``scopes`` (delegated: ``scp``) or one of ``roles``
    (app roles: ``roles``, app-only tokens or a user's assigned roles); with neither,
    any valid access token for this API passes. The view is CSRF-exempt: a bearer
    token is not sent by browsers on their own, unlike a cookie.
    """
    if isinstance(scopes, str) or isinstance(roles, str):
        raise TypeError("require_token takes lists: scopes=['access_as_user'], roles=['Task.Read']")
    required_scopes, required_roles = tuple(scopes), tuple(roles)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                refusal = await sync_to_async(_admit)(request, required_scopes, required_roles)
                if refusal is not None:
                    return refusal
                try:
                    return await view(request, *args, **kwargs)
                except InteractionRequired as exc:
                    return interaction_required_response(exc)

            markcoroutinefunction(async_wrapper)
            wrapper: Any = async_wrapper
        else:

            @functools.wraps(view)
            def sync_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                refusal = _admit(request, required_scopes, required_roles)
                if refusal is not None:
                    return refusal
                try:
                    return view(request, *args, **kwargs)
                except InteractionRequired as exc:
                    return interaction_required_response(exc)

            wrapper = sync_wrapper
        wrapper.csrf_exempt = True
        return cast(Callable[..., Any], wrapper)

    return decorator


def _admit(
    request: HttpRequest, scopes: tuple[str, ...], roles: tuple[str, ...]
) -> HttpResponse | None:
    """None when the request may go on (``request.user`` set); else the refusal."""
    try:
        token = bearer_token(request)
        if token is None:
            logger.info("API request refused: no bearer token (%s).", loggable(request.path))
            return challenge(401)
        caller, access_token = authenticate(request, token)
        authorize(access_token, scopes, roles)
    except InvalidBearerToken as exc:
        logger.info("API request refused: %s (%s)", exc, loggable(request.path))
        return challenge(401, "invalid_token", str(exc))
    except InsufficientScope as exc:
        logger.info("API request refused: %s (%s)", exc, loggable(request.path))
        return challenge(403, "insufficient_scope", str(exc), scope=" ".join(exc.scopes))
    except NoLinkedUser as exc:
        logger.info("API request refused: %s (%s)", exc, loggable(request.path))
        return access_denied(str(exc))
    except SignInRefused as exc:  # a first call's groups could not be resolved
        logger.info("API request refused: %s (%s)", exc.error, loggable(request.path))
        if exc.status == 503:
            return temporarily_unavailable()
        return access_denied(str(exc.message))
    except (ProviderError, StoreUnavailable, DatabaseError) as exc:
        not_checked(exc)
        return temporarily_unavailable()
    request.user = caller  # type: ignore[assignment]
    return None


def not_checked(exc: Exception) -> None:
    """Log why a request could not be checked. A database error inside a transaction
    (``ATOMIC_REQUESTS``, a test) leaves it aborted on PostgreSQL: it is marked to roll
    back, so the 503 is sent instead of a failed commit's 500."""
    logger.warning("API request not checked: %s", describe(exc))
    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block:
            transaction.set_rollback(True, using=connection.alias)


def access_denied(description: str) -> JsonResponse:
    """A valid token whose caller may not use this site (403)."""
    return JsonResponse({"error": "access_denied", "error_description": description}, status=403)


def temporarily_unavailable() -> JsonResponse:
    """The provider, the token store or the database did not answer: try again (503)."""
    return JsonResponse({"error": "temporarily_unavailable"}, status=503)


def challenge(
    status: int, error: str | None = None, description: str = "", scope: str = ""
) -> JsonResponse:
    """An RFC 6750 answer: the JSON error and the ``WWW-Authenticate`` challenge."""
    params = []
    if error:
        params.append(f'error="{error}"')
        params.append(f'error_description="{_quoted(description)}"')
    if scope:
        params.append(f'scope="{_quoted(scope)}"')
    body = (
        {"error": error, "error_description": description} if error else {"error": "unauthorized"}
    )
    if scope:
        body["scope"] = scope
    response = JsonResponse(body, status=status)
    response["WWW-Authenticate"] = "Bearer" + (" " + ", ".join(params) if params else "")
    return response


def interaction_required_response(exc: InteractionRequired) -> JsonResponse:
    """What an API answers when a downstream token needs the user (consent, MFA): the
    client must ask the user interactively, with these scopes and claims."""
    body: dict[str, Any] = {
        "error": "interaction_required",
        "suberror": exc.error,
        "scopes": list(exc.scopes),
    }
    if getattr(exc, "claims_challenge", None):
        body["claims"] = exc.claims_challenge
    return JsonResponse(body, status=403)


def _quoted(text: str) -> str:
    # A quoted-string holds no '"' or '\\' unescaped; our messages hold printable text only.
    return text.replace("\\", "'").replace('"', "'")
