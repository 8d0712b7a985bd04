"""Who signed in through the provider, in the Django admin: each user's identities
(issuer or tenant, subject) and the groups the provider's claims granted them.

Read-only: identities are made by sign-ins, groups by ``msal_django.signin.authorization``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from msal_django.models import UserIdentity

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[UserIdentity]
else:
    _ModelAdmin = admin.ModelAdmin


@admin.register(UserIdentity)
class UserIdentityAdmin(_ModelAdmin):
    list_display = ("user", "issuer", "subject", "provider_groups", "last_login_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "issuer", "subject")
    list_filter = ("issuer",)
    fields = ("user", "issuer", "subject", "provider_groups", "created_at", "last_login_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[UserIdentity]:
        # One query for every row's groups, not one per row.
        return super().get_queryset(request).prefetch_related("user__msal_provider_groups__group")

    @admin.display(description=_("groups from the provider"))
    def provider_groups(self, obj: UserIdentity) -> str:
        user: Any = obj.user
        names = sorted(p.group.name for p in user.msal_provider_groups.all())
        return ", ".join(names) or "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
