"""An app role typed on the provider's sign-in page opens the page only that role may open."""

from __future__ import annotations

import pytest

from tests.conftest import APP_A_CLIENT_ID, CLIENT_SECRET
from tests.test_browser_logout import ARTIFACTS, sign_in_interactively

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("idp"),
]


@pytest.fixture
def app_with_roles(settings, idp, app_a):
    settings.MSAL_DJANGO = {
        **settings.MSAL_DJANGO,
        "GROUP_MAP": {"Reports.Reader": "report readers"},
    }
    idp.register_client(
        APP_A_CLIENT_ID,
        CLIENT_SECRET,
        redirect_uris=[f"{app_a}/auth/callback/"],
        post_logout_redirect_uris=[f"{app_a}/"],
    )
    return app_a


def test_a_user_with_the_role_opens_the_roles_page_in_a_real_browser(browser, app_with_roles):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{app_with_roles}/auth/login/")
    page.wait_for_selector("form#sign-in")
    page.fill("#new_username", "rhea")
    page.click("details.authorization summary")
    page.fill("#roles", "Reports.Reader")
    page.click("button.primary")
    page.wait_for_url(f"{app_with_roles}/")
    response = page.goto(f"{app_with_roles}/reports/")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "reports-with-role.png"))
    assert response.status == 200
    assert page.text_content("body") == "reports:rhea@example.com"
    context.close()


def test_a_user_without_the_role_is_refused_the_roles_page(browser, app_with_roles):
    context = browser.new_context()
    page = context.new_page()
    sign_in_interactively(page, app_with_roles, "bob")
    response = page.goto(f"{app_with_roles}/reports/")
    assert response.status == 403
    context.close()
