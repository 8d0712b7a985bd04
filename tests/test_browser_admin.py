"""An admin revokes an account in a real browser, and it is gone."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from msal_django.models import CachedAccount, SignInSession
from tests.conftest import APP_A_CLIENT_ID, CLIENT_SECRET
from tests.test_browser_logout import ARTIFACTS, sign_in_interactively, signed_in_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_revokes_an_account_in_a_real_browser(browser, idp, app_a):
    idp.register_client(
        APP_A_CLIENT_ID,
        CLIENT_SECRET,
        redirect_uris=[f"{app_a}/auth/callback/"],
        post_logout_redirect_uris=[f"{app_a}/"],
    )
    alice = browser.new_context()
    alice_page = alice.new_page()
    sign_in_interactively(alice_page, app_a, "alice")
    account = CachedAccount.objects.get()

    admin_user = get_user_model().objects.create_user("ops", password="ops-password", is_staff=True)
    admin_user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_cachedaccount", "revoke_account"])
    )
    ops = browser.new_context()
    page = ops.new_page()
    page.goto(f"{app_a}/admin/login/?next=/admin/msal_django/cachedaccount/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "ops-password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{app_a}/admin/msal_django/cachedaccount/")
    assert account.home_account_id in page.content()

    page.check(f'input[name="_selected_action"][value="{account.pk}"]')
    page.select_option('select[name="action"]', "revoke")
    page.click('button[name="index"]')
    page.wait_for_selector("text=Revoke tokens?")
    page.click('input[value="Yes, revoke"]')
    page.wait_for_selector("text=Revoked the tokens of 1 account.")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-after-revoke.png"), full_page=True)
    assert "0 cached accounts" in page.content()

    assert not CachedAccount.objects.exists()
    assert not SignInSession.objects.exists()
    assert signed_in_as(alice_page, app_a) == ""  # her session here was ended too
    alice.close()
    ops.close()
