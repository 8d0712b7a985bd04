"""Cached accounts in the Django admin: who holds tokens, never the tokens.

Read-only; the one thing an admin can do is revoke (remove every token of an account
and end its sessions), through the same removal path as logout, with the dedicated
``msal_django.revoke_account`` permission and a confirmation page.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ERROR_FLAG
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from msal_django.models import CachedAccount
from msal_django.signout.removal import remove_account

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[CachedAccount]
else:
    _ModelAdmin = admin.ModelAdmin


class ExpiredFilter(admin.SimpleListFilter):
    title = _("refresh token")
    parameter_name = "expired"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("expired")), ("no", _("valid")), ("soon", _("expires within 7 days"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(refresh_token_expires_at__lt=now)
        if self.value() == "no":
            return queryset.filter(refresh_token_expires_at__gte=now)
        if self.value() == "soon":
            return queryset.filter(
                refresh_token_expires_at__gte=now,
                refresh_token_expires_at__lt=now + timedelta(days=7),
            )
        return queryset


@admin.register(CachedAccount)
class CachedAccountAdmin(_ModelAdmin):
    list_display = (
        "username",
        "user",
        "tenant_id",
        "home_account_id",
        "created_at",
        "updated_at",
        "tokens",
        "access_token_expires_at",
        "refresh_token_expires_at",
        "store",
        "size",
    )
    list_select_related = ("user",)
    search_fields = ("username", "user__username", "tenant_id", "home_account_id")
    list_filter = ("store", ExpiredFilter, "updated_at", "tenant_id")
    show_full_result_count = False  # no second COUNT(*) over the whole table per page
    # ``data`` (the encrypted cache) is never listed, shown or editable.
    fields = (
        "home_account_id",
        "user",
        "username",
        "tenant_id",
        "store",
        "created_at",
        "updated_at",
        "access_tokens",
        "refresh_tokens",
        "id_tokens",
        "access_token_expires_at",
        "refresh_token_expires_at",
        "scopes",
        "size",
    )
    readonly_fields = fields
    ordering = ("-updated_at",)
    actions = ["revoke"]
    change_form_template = "admin/msal_django/cachedaccount/change_form.html"

    @admin.display(description=_("tokens (AT / RT / ID)"))
    def tokens(self, obj: CachedAccount) -> str:
        return f"{obj.access_tokens} / {obj.refresh_tokens} / {obj.id_tokens}"

    def get_queryset(self, request: HttpRequest) -> QuerySet[CachedAccount]:
        return super().get_queryset(request).defer("data")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # PostgreSQL refuses a NUL in a text comparison: a search or filter carrying one
        # gets the admin's own "incorrect lookup" answer, not a 500.
        if any("\x00" in value for _, values in request.GET.lists() for value in values):
            return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # removal is "revoke", which goes through remove_account

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("msal_django.revoke_account")

    def get_urls(self) -> list[Any]:
        revoke = self.admin_site.admin_view(self.revoke_view)
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/revoke/", revoke, name="{}_{}_revoke".format(*info)),
            *super().get_urls(),
        ]

    @admin.action(description=_("Revoke the selected accounts' tokens"), permissions=["revoke"])
    def revoke(
        self, request: HttpRequest, queryset: QuerySet[CachedAccount]
    ) -> HttpResponse | None:
        if request.POST.get("confirmed") == "yes":
            self._revoke(request, list(queryset.select_related("user")))
            return None
        return self._confirmation(request, list(queryset), action=True)

    def revoke_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_revoke_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(gettext("No cached account %(id)r.") % {"id": object_id})
        if request.method == "POST":
            self._revoke(request, [obj])
            return HttpResponseRedirect(reverse("admin:msal_django_cachedaccount_changelist"))
        return self._confirmation(request, [obj], action=False)

    def _confirmation(
        self, request: HttpRequest, accounts: list[CachedAccount], *, action: bool
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": _("Revoke tokens?"),
            "opts": self.opts,
            "accounts": accounts,
            "action": action,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/msal_django/cachedaccount/revoke_confirmation.html", context
        )

    def _revoke(self, request: HttpRequest, accounts: list[CachedAccount]) -> None:
        revoked = []
        for account in accounts:
            # The one removal path: its tokens go and the sessions signed in with it end.
            if remove_account(account.home_account_id, user=account.user, reason="admin"):
                revoked.append(account)
        content_type = ContentType.objects.get_for_model(CachedAccount)
        LogEntry.objects.bulk_create(
            LogEntry(
                user_id=cast(int, request.user.pk),
                content_type=content_type,
                object_id=str(account.pk),
                object_repr=str(account)[:200],
                action_flag=DELETION,
                change_message=gettext("Revoked every token of the account."),
            )
            for account in revoked
        )
        self.message_user(
            request,
            ngettext(
                "Revoked the tokens of %(count)d account.",
                "Revoked the tokens of %(count)d accounts.",
                len(revoked),
            )
            % {"count": len(revoked)},
            messages.SUCCESS,
        )


# Users' identities and the groups the provider granted them.
from msal_django.admin import identities  # noqa: E402, F401
