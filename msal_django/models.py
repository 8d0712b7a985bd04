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
    tenant_id = models.CharField(_("tenant"), max_length=64, blank=True)
    data = models.BinaryField(_("encrypted token cache"), editable=False, default=b"")
    version = models.CharField(_("version"), max_length=32, editable=False)
    created_at = models.DateTimeField(_("first sign-in"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last written"), auto_now=True)

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
