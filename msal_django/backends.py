"""``MsalBackend``: maps ID-token claims to a Django user.

Users are matched on the provider's immutable identifiers (``oid`` within ``tid`` on
Entra ID, ``sub`` within ``iss`` elsewhere), never on an email or a username, which
can change hands. Override the small methods below to change any step.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import get_user_model, load_backend
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, router, transaction
from django.http import HttpRequest

from msal_django.conf import msal_settings
from msal_django.models import UserIdentity
from msal_django.redact import loggable
from msal_django.signin import identity_lookup
from msal_django.signin.authorization import AuthorizationHooks, TokenSource

logger = logging.getLogger("msal_django")

Claims = dict[str, Any]


class MsalBackend(AuthorizationHooks, BaseBackend):
    """Authenticates with ``authenticate(request, msal_claims=..., msal_sign_in=...)`` from
    the callback view; raises ``SignInRefused`` (tenant, groups) before touching any user."""

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        msal_claims: Claims | None = None,
        msal_sign_in: TokenSource | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        if msal_claims is None or not self.verify_claims(msal_claims):
            return None
        # Authorization (msal_django.signin.authorization): decided before any user is touched.
        self.check_tenant(msal_claims)
        values = self.authorization_values(msal_claims, msal_sign_in)
        issuer, subject = self.identity_key(msal_claims)
        identity = self.find_identity(issuer, subject)
        if identity is not None:
            user: AbstractBaseUser = identity.user
            if msal_settings.UPDATE_USERS:
                self.update_user(user, msal_claims)
            identity.save(update_fields=["last_login_at"])
        elif msal_settings.CREATE_USERS:
            user = self._create(issuer, subject, msal_claims)
        else:
            logger.info(
                "Sign-in refused: no user for %s and CREATE_USERS is off.", loggable(subject)
            )
            return None
        if not self.user_can_authenticate(user):
            return None
        if values is not None:
            self.sync_authorization(user, values)
        return user

    def get_user(self, user_id: Any) -> AbstractBaseUser | None:  # type: ignore[override]
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def find_identity(self, issuer: str, subject: str) -> UserIdentity | None:
        """The link of this (issuer, subject) to a user, its ``user`` loaded, read on the
        primary: on a lagging replica a returning person would look new.

        What ``UserIdentity.objects.using(primary).select_related("user").filter(
        issuer=issuer, subject=subject).first()`` returns, read with one cached SQL
        statement (``msal_django.signin.identity_lookup``): every API request calls it."""
        return identity_lookup.find_identity(router.db_for_write(UserIdentity), issuer, subject)

    # Hooks to override.

    def verify_claims(self, claims: Claims) -> bool:
        """Whether these claims may sign in at all (by default: they identify someone,
        as ``identity_key`` reads them)."""
        return bool((claims.get("oid") and claims.get("tid")) or claims.get("sub"))

    def identity_key(self, claims: Claims) -> tuple[str, str]:
        """The immutable (issuer, subject) pair that identifies the person: (``tid``,
        ``oid``) on Entra ID, else (``iss``, ``sub``). ``ValueError`` when the claims
        hold neither (``verify_claims`` refuses such claims first)."""
        if claims.get("oid") and claims.get("tid"):
            return str(claims["tid"]), str(claims["oid"])
        if not claims.get("sub"):
            raise ValueError("The claims identify no one (neither oid and tid, nor sub).")
        return str(claims.get("iss", "")), str(claims["sub"])

    def get_username(self, claims: Claims) -> str:
        """A username for a new user: ``preferred_username``, made unique if taken."""
        user_model = get_user_model()
        field = user_model.USERNAME_FIELD
        max_length = getattr(user_model._meta.get_field(field), "max_length", None) or 150
        base = str(claims.get("preferred_username") or claims.get("email") or "")[:max_length]
        if not base:
            base = self.identity_key(claims)[1][:max_length]
        candidate, n = base, 1
        while user_model._default_manager.filter(**{field: candidate}).exists():
            n += 1
            suffix = f"-{n}"
            candidate = base[: max_length - len(suffix)] + suffix
        return candidate

    def create_user(self, claims: Claims) -> AbstractBaseUser:
        user_model = get_user_model()
        user = user_model(**{user_model.USERNAME_FIELD: self.get_username(claims)})
        user.set_unusable_password()
        self.update_user(user, claims, save=False)
        user.save()
        return user

    def update_user(self, user: AbstractBaseUser, claims: Claims, save: bool = True) -> None:
        """Copy name and email from the claims onto the user, if the model has the fields."""
        values = {"email": str(claims.get("email") or "")}
        name = str(claims.get("name") or "")
        given, _, family = name.partition(" ")
        values["first_name"] = str(claims.get("given_name") or given)
        values["last_name"] = str(claims.get("family_name") or family)
        changed = []
        for field, value in values.items():
            if not hasattr(user, field):
                continue
            max_length = getattr(user._meta.get_field(field), "max_length", None) or len(value)
            value = value[:max_length]
            if getattr(user, field) != value:
                setattr(user, field, value)
                changed.append(field)
        if save and changed:
            user.save(update_fields=changed)

    def user_can_authenticate(self, user: AbstractBaseUser) -> bool:
        return getattr(user, "is_active", True) is not False

    def _create(self, issuer: str, subject: str, claims: Claims) -> AbstractBaseUser:
        try:
            with transaction.atomic():
                user = self.create_user(claims)
                UserIdentity.objects.create(user=cast(Any, user), issuer=issuer, subject=subject)
        except IntegrityError:
            # The same person's first sign-in raced in another tab; use theirs.
            return (
                UserIdentity.objects.select_related("user").get(issuer=issuer, subject=subject).user
            )
        return user


def msal_backend() -> MsalBackend:
    """The project's ``MsalBackend`` (a subclass in AUTHENTICATION_BACKENDS), or ours."""
    for path in settings.AUTHENTICATION_BACKENDS:
        backend = load_backend(path)
        if isinstance(backend, MsalBackend):
            return backend
    return MsalBackend()
