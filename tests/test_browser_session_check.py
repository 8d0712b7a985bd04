"""The example's story in a real browser: alice signs in, an administrator disables her
on the provider's own users page, and her next page after the interval signs her out."""

from __future__ import annotations

import time

import pytest

from msal_django.models import CachedAccount
from tests.conftest import APP_A_CLIENT_ID, CLIENT_SECRET
from tests.test_browser_logout import ARTIFACTS, sign_in_interactively

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("idp"),
]


@pytest.fixture
def checked_app(settings, idp, request):
    # Before the live server starts: its handler loads the middleware once.
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "msal_django.middleware.SessionCheckMiddleware"]
    app_a = request.getfixturevalue("app_a")
    settings.MSAL_DJANGO = {**settings.MSAL_DJANGO, "SESSION_CHECK_INTERVAL": 1}
    idp.register_client(
        APP_A_CLIENT_ID,
        CLIENT_SECRET,
        redirect_uris=[f"{app_a}/auth/callback/"],
        post_logout_redirect_uris=[f"{app_a}/"],
    )
    return app_a


def test_a_user_disabled_at_the_provider_is_signed_out_at_their_next_page(
    browser, idp, checked_app
):
    context = browser.new_context()
    page = context.new_page()
    sign_in_interactively(page, checked_app, "alice")
    assert page.goto(f"{checked_app}/").status == 200
    assert page.text_content("body") == "home:alice@example.com"

    admin = context.new_page()  # the provider's users page, as an administrator
    admin.goto(f"{idp.base_url}/users/")
    admin.click("form[action='/users/alice/'] button[value='disable']")
    admin.wait_for_selector("text=(disabled)")
    ARTIFACTS.mkdir(exist_ok=True)
    admin.screenshot(path=str(ARTIFACTS / "provider-users-alice-disabled.png"))

    time.sleep(1.1)  # the interval passes
    page.goto(f"{checked_app}/")
    page.wait_for_url(f"{idp.base_url}/**")  # sent to sign in again
    page.screenshot(path=str(ARTIFACTS / "signed-out-after-disable.png"))
    assert not CachedAccount.objects.exists()
    context.close()
