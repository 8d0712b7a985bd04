"""The admin: cached accounts listed without any token, revoke with permission only."""

from __future__ import annotations

import json

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from msal_django.models import CachedAccount
from msal_django.stores import get_store

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("idp")]
CHANGELIST = "/admin/msal_django/cachedaccount/"


def staff(client: Client, *, can_revoke: bool) -> Client:
    user = get_user_model().objects.create_user("admin-user", password="pw", is_staff=True)
    codenames = ["view_cachedaccount"] + (["revoke_account"] if can_revoke else [])
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def secrets_of(home_account_id: str) -> list[str]:
    state = json.loads(get_store().load(home_account_id).state or "null")
    found = [
        e["secret"]
        for kind in ("AccessToken", "RefreshToken", "IdToken")
        for e in state.get(kind, {}).values()
    ]
    assert found
    return found


def test_changelist_and_detail_show_accounts_but_no_token(alice_client):
    alice_client.get("/token/")
    account = CachedAccount.objects.get()
    secrets = secrets_of(account.home_account_id)
    admin = staff(Client(), can_revoke=True)
    pages = [
        admin.get(CHANGELIST),
        admin.get(f"{CHANGELIST}{account.pk}/change/"),
        admin.get(f"{CHANGELIST}?q=alice"),
        admin.get(f"{CHANGELIST}?expired=no"),
    ]
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert account.home_account_id in html
        assert [s[:16] for s in secrets if s in html] == []
    detail = pages[1].content.decode()
    assert "User.Read" in detail  # the scopes held
    assert "Revoke tokens" in detail


def test_search_and_filters(alice_client, sign_in):
    sign_in(Client(), "bob")
    admin = staff(Client(), can_revoke=False)
    bob = CachedAccount.objects.get(username__startswith="bob")
    found = admin.get(CHANGELIST, {"q": "bob"}).content.decode()
    assert bob.home_account_id in found
    assert CachedAccount.objects.get(username__startswith="alice").home_account_id not in found
    assert bob.home_account_id not in admin.get(CHANGELIST, {"expired": "yes"}).content.decode()
    assert admin.get(CHANGELIST, {"store__exact": "database"}).status_code == 200
    assert admin.get(CHANGELIST, {"tenant_id": bob.tenant_id}).status_code == 200


def test_no_add_change_or_delete(alice_client):
    admin = staff(Client(), can_revoke=True)
    account = CachedAccount.objects.get()
    assert admin.get(f"{CHANGELIST}add/").status_code == 403
    assert admin.get(f"{CHANGELIST}{account.pk}/delete/").status_code == 403
    assert admin.post(f"{CHANGELIST}{account.pk}/change/", {"username": "x"}).status_code == 403
    assert CachedAccount.objects.get().username == account.username


def test_revoke_action_asks_for_confirmation_then_removes(alice_client, removed):
    account = CachedAccount.objects.get()
    admin = staff(Client(), can_revoke=True)
    data = {"action": "revoke", "_selected_action": [account.pk]}
    confirm = admin.post(CHANGELIST, data)
    assert confirm.status_code == 200
    assert b"Revoke tokens?" in confirm.content
    assert CachedAccount.objects.exists()
    done = admin.post(CHANGELIST, {**data, "confirmed": "yes"})
    assert done.status_code == 302
    assert not CachedAccount.objects.exists()
    assert [(r["home_account_id"], r["reason"]) for r in removed] == [
        (account.home_account_id, "admin")
    ]
    entry = LogEntry.objects.get()
    assert (entry.action_flag, entry.object_id) == (DELETION, str(account.pk))
    assert entry.user.username == "admin-user"
    assert "_auth_user_id" not in alice_client.session  # signed out here
    assert alice_client.get("/token/").status_code == 302  # must sign in again


def test_revoke_button_on_the_detail_page(alice_client):
    account = CachedAccount.objects.get()
    admin = staff(Client(), can_revoke=True)
    url = f"{CHANGELIST}{account.pk}/revoke/"
    assert b"Yes, revoke" in admin.get(url).content
    assert CachedAccount.objects.exists()
    assert admin.post(url).status_code == 302
    assert not CachedAccount.objects.exists()


def test_revoke_needs_the_dedicated_permission(alice_client):
    account = CachedAccount.objects.get()
    admin = staff(Client(), can_revoke=False)
    data = {"action": "revoke", "_selected_action": [account.pk], "confirmed": "yes"}
    admin.post(CHANGELIST, data)
    assert admin.post(f"{CHANGELIST}{account.pk}/revoke/").status_code == 403
    assert b"Revoke tokens" not in admin.get(f"{CHANGELIST}{account.pk}/change/").content
    assert CachedAccount.objects.exists()


def test_changelist_query_count_is_bounded(alice_client, sign_in, django_assert_max_num_queries):
    for name in ("bob", "carol", "dave", "erin"):
        sign_in(Client(), name)
    admin = staff(Client(), can_revoke=True)
    with django_assert_max_num_queries(8):
        assert admin.get(CHANGELIST).status_code == 200
