"""Read-only admin for cached accounts: who holds tokens, never the tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from .models import CachedAccount

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[CachedAccount]
else:
    _ModelAdmin = admin.ModelAdmin


@admin.register(CachedAccount)
class CachedAccountAdmin(_ModelAdmin):
    list_display = ("username", "user", "tenant_id", "home_account_id", "created_at", "updated_at")
    list_select_related = ("user",)
    search_fields = ("username", "home_account_id", "tenant_id")
    list_filter = ("tenant_id",)
    # ``data`` (the encrypted cache) is never listed, shown or editable.
    fields = ("home_account_id", "user", "username", "tenant_id", "created_at", "updated_at")
    readonly_fields = fields
    ordering = ("-updated_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # removal goes through msal_django.logout.remove_account

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).defer("data")
