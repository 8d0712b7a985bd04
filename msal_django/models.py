from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CachedAccount(models.Model):
    """One MSAL account's token cache partition (database store) or its index entry.

    ``data`` is the encrypted MSAL cache; it is never shown, logged or put in ``repr``.
    """

    home_account_id = models.CharField(_("home account id"), max_length=255, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="msal_accounts",
        verbose_name=_("user"),
    )
    username = models.CharField(_("username"), max_length=255, blank=True)
    tenant_id = models.CharField(_("tenant"), max_length=64, blank=True, db_index=True)
    data = models.BinaryField(_("encrypted token cache"), editable=False, default=b"")
    version = models.CharField(_("version"), max_length=32, editable=False)
    store = models.CharField(
        _("store"),
        max_length=16,
        default="database",
        choices=[("database", _("database")), ("redis", _("Redis"))],
    )
    created_at = models.DateTimeField(_("first sign-in"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last written"), auto_now=True, db_index=True)
    # A summary kept on each write (msal_django.stores.summaries), so listing never decrypts.
    access_tokens = models.PositiveSmallIntegerField(_("access tokens"), default=0)
    refresh_tokens = models.PositiveSmallIntegerField(_("refresh tokens"), default=0)
    id_tokens = models.PositiveSmallIntegerField(_("ID tokens"), default=0)
    access_token_expires_at = models.DateTimeField(
        _("newest access token expires"), null=True, blank=True
    )
    refresh_token_expires_at = models.DateTimeField(
        _("refresh token expires"), null=True, blank=True, db_index=True
    )
    scopes = models.TextField(_("scopes"), blank=True)
    size = models.PositiveIntegerField(_("size in bytes"), default=0)

    class Meta:
        verbose_name = _("cached account")
        verbose_name_plural = _("cached accounts")
        permissions = [("revoke_account", _("Can revoke a cached account's tokens"))]

    def __str__(self) -> str:
        return self.username or self.home_account_id

    def __repr__(self) -> str:
        return f"<CachedAccount {self.home_account_id}>"


class UserIdentity(models.Model):
    """Links a Django user to the provider's immutable identifiers, never an email.

    On Entra ID: ``issuer`` is the tenant id (``tid``) and ``subject`` the object id
    (``oid``). On other OpenID Connect providers: the ``iss`` and ``sub`` claims.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="msal_identities",
        verbose_name=_("user"),
    )
    issuer = models.CharField(_("issuer or tenant"), max_length=255)
    subject = models.CharField(_("subject or object id"), max_length=255)
    created_at = models.DateTimeField(_("first sign-in"), auto_now_add=True)
    last_login_at = models.DateTimeField(_("last sign-in"), auto_now=True)

    class Meta:
        verbose_name = _("user identity")
        verbose_name_plural = _("user identities")
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "subject"], name="msal_django_identity_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} @ {self.issuer}"


class SignInSession(models.Model):
    """Which Django session a provider sign-in session (``sid``) created.

    Front- and back-channel logout name a ``sid`` (or a ``sub``): this index finds the
    sessions to end without scanning the session store.
    """

    session_key = models.CharField(_("session key"), max_length=64, unique=True)
    sid = models.CharField(_("provider session id"), max_length=255, blank=True, db_index=True)
    issuer = models.CharField(_("issuer"), max_length=255, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True, db_index=True)
    home_account_id = models.CharField(_("home account id"), max_length=255, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="msal_sign_in_sessions",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(_("signed in"), auto_now_add=True)

    class Meta:
        verbose_name = _("sign-in session")
        verbose_name_plural = _("sign-in sessions")

    def __str__(self) -> str:
        return f"{self.user_id} / {self.sid or '-'}"


class PendingRemoval(models.Model):
    """An account whose tokens must be removed from a store that was unavailable.

    Recorded in the database when logout could not reach Redis; applied as soon as it
    answers again (before any read of that account), so nothing can be read back.
    """

    home_account_id = models.CharField(_("home account id"), max_length=255, unique=True)
    reason = models.CharField(_("reason"), max_length=32)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("pending removal")
        verbose_name_plural = _("pending removals")

    def __str__(self) -> str:
        return f"{self.home_account_id} ({self.reason})"


# -- authorization from the identity provider (msal_django.signin.authorization) -----------------


class ProviderGroup(models.Model):
    """A user's membership of a Django group that the provider's claims granted.

    Sign-in adds and removes only these memberships: a group an admin gave by hand is
    never recorded here, so it survives whatever the provider says.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="msal_provider_groups",
        verbose_name=_("user"),
    )
    group = models.ForeignKey(
        "auth.Group",
        on_delete=models.CASCADE,
        related_name="msal_provider_members",
        verbose_name=_("group"),
    )
    granted_at = models.DateTimeField(_("granted"), auto_now_add=True)

    class Meta:
        verbose_name = _("group from the provider")
        verbose_name_plural = _("groups from the provider")
        constraints = [
            models.UniqueConstraint(fields=["user", "group"], name="msal_django_provider_group")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} / {self.group_id}"
