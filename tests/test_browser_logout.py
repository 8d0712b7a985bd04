"""Single sign-out in a real browser (Chromium through Playwright).

Two relying parties signed in through one provider session:

- app A: this test process's Django, served on http://127.0.0.1:<port> (a live server
  thread), with the test database, so its sessions and tokens can be inspected;
- app B: a second Django process with its own settings, client id, SQLite database and
  session cookie name, on another port: what a second site of the same organisation is.

The provider is https://localhost:<port>: another site than 127.0.0.1, so the browser
sends no SameSite=Lax session cookie to the front-channel iframes, as in production
with Entra ID. Signing out at the provider must sign the person out of both apps, leave
another user (in another browser) signed in, and leave no token of theirs in either store.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.sessions.models import Session

from msal_django.models import CachedAccount, SignInSession
from tests.conftest import APP_A_CLIENT_ID, CLIENT_SECRET

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

APP_B_CLIENT_ID = "msal-django-browser-app-b"
APP_B_SESSION_COOKIE = "app_b_sessionid"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


APP_B_SETTINGS = """
from tests.settings import *  # noqa: F403

DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {db!r}}}}}
SESSION_COOKIE_NAME = {cookie!r}
CSRF_COOKIE_NAME = "app_b_csrftoken"
MSAL_DJANGO = {{
    **MSAL_DJANGO,  # noqa: F405
    "CLIENT_ID": {client_id!r},
    "CLIENT_CREDENTIAL": {secret!r},
    "AUTHORITY": {authority!r},
}}
"""

APP_B_MAIN = """
import django
from django.core.management import call_command
from django.core.servers.basehttp import run
from django.core.wsgi import get_wsgi_application

django.setup()
call_command("migrate", verbosity=0)
run("127.0.0.1", {port}, get_wsgi_application(), threading=True)
"""


class AppB:
    """The second relying party: its own process, settings and database."""

    def __init__(self, url: str, db: Path) -> None:
        self.url = url
        self.db = db

    def count(self, table: str) -> int:
        with sqlite3.connect(self.db) as connection:
            return int(connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def has_session(self, session_key: str) -> bool:
        with sqlite3.connect(self.db) as connection:
            row = connection.execute(
                "SELECT 1 FROM django_session WHERE session_key = ?", (session_key,)
            ).fetchone()
        return row is not None


@pytest.fixture(scope="module")
def app_b(identity_provider, tmp_path_factory):
    directory = tmp_path_factory.mktemp("app_b")
    port = _free_port()
    (directory / "app_b_settings.py").write_text(
        APP_B_SETTINGS.format(
            db=str(directory / "db.sqlite3"),
            cookie=APP_B_SESSION_COOKIE,
            client_id=APP_B_CLIENT_ID,
            secret=CLIENT_SECRET,
            authority=identity_provider.authority,
        )
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(directory), str(REPO)]),
        "DJANGO_SETTINGS_MODULE": "app_b_settings",
        "MSAL_DJANGO_TESTING_CA_FILE": identity_provider.ca_file,
        "MSAL_DJANGO_TEST_DB": "sqlite",
    }
    log = (directory / "app_b.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(APP_B_MAIN.format(port=port))],
        env=env,
        cwd=directory,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"app B did not start:\n{(directory / 'app_b.log').read_text()}")
            time.sleep(0.1)
        yield AppB(url, directory / "db.sqlite3")
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def register(idp, app_a: str, app_b: AppB, *, channel: str) -> None:
    for client_id, url in ((APP_A_CLIENT_ID, app_a), (APP_B_CLIENT_ID, app_b.url)):
        logout_uri = f"{url}/auth/logout/{channel}/"
        idp.register_client(
            client_id,
            CLIENT_SECRET,
            redirect_uris=[f"{url}/auth/callback/"],
            post_logout_redirect_uris=[f"{url}/"],
            frontchannel_logout_uri=logout_uri if channel == "frontchannel" else None,
            backchannel_logout_uri=logout_uri if channel == "backchannel" else None,
        )
    # An admin consented for app B, so signing in there needs no click at all.
    for username in ("alice", "bob"):
        idp.consent(username, APP_B_CLIENT_ID, ["User.Read"])


def sign_in_interactively(page, app_url: str, username: str, screenshots: bool = False) -> None:
    page.goto(f"{app_url}/auth/login/")
    page.wait_for_selector("form#sign-in")
    if screenshots:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "provider-sign-in.png"))
    page.locator(f'button.account[data-username="{username}"]').first.click()
    page.wait_for_url(f"{app_url}/")
    assert page.text_content("body") == f"home:{username}@example.com"
    if screenshots:
        page.screenshot(path=str(ARTIFACTS / "app-after-sign-in.png"))


def sign_in_silently(page, app_url: str, username: str) -> None:
    """Single sign-on: the provider session signs the browser in with no page shown."""
    page.goto(f"{app_url}/auth/login/?prompt=none")
    page.wait_for_url(f"{app_url}/")
    assert page.text_content("body") == f"home:{username}@example.com"


def cookie(context, name: str) -> str:
    return next(c["value"] for c in context.cookies("http://127.0.0.1/") if c["name"] == name)


def signed_in_as(page, url: str) -> str:
    page.goto(f"{url}/")
    return str(page.text_content("body")).removeprefix("home:")


def run_single_sign_out(browser, idp, app_a: str, app_b: AppB, channel: str) -> list:
    """Alice signs in to both apps, Bob to app A elsewhere; Alice signs out at the provider."""
    register(idp, app_a, app_b, channel=channel)
    alice = browser.new_context()
    bob = browser.new_context()
    for context in (alice, bob):
        context.set_default_timeout(10_000)
    try:
        alice_page, bob_page = alice.new_page(), bob.new_page()
        sign_in_interactively(alice_page, app_a, "alice", screenshots=channel == "frontchannel")
        sign_in_silently(alice_page, app_b.url, "alice")
        sign_in_interactively(bob_page, app_a, "bob")
        alice_a_session = cookie(alice, "sessionid")
        alice_b_session = cookie(alice, APP_B_SESSION_COOKIE)
        assert app_b.has_session(alice_b_session)
        assert CachedAccount.objects.count() == 2
        assert app_b.count("msal_django_cachedaccount") == 1

        logout_requests: list = []
        alice_page.on(
            "requestfinished",
            lambda r: (
                logout_requests.append((r.url, r.all_headers(), r.response().status))
                if "/auth/logout/" in r.url
                else None
            ),
        )
        # Signing out somewhere else (the provider's own page, another app): the
        # provider's signed-out page loads every app's front-channel URL in an iframe
        # (or POSTs its back-channel URL) before it has loaded.
        alice_page.goto(idp.end_session_endpoint, wait_until="load")
        assert "You have signed out" in str(alice_page.text_content("h1"))

        # App A: Alice's session and every token of hers are gone; Bob's are not.
        assert not Session.objects.filter(session_key=alice_a_session).exists()
        assert list(SignInSession.objects.values_list("user__username", flat=True)) == [
            "bob@example.com"
        ]
        assert list(CachedAccount.objects.values_list("username", flat=True)) == ["bob@example.com"]
        assert signed_in_as(alice_page, app_a) == ""
        assert signed_in_as(bob_page, app_a) == "bob@example.com"
        # App B, the other site: signed out too, and its store holds no token.
        assert not app_b.has_session(alice_b_session)
        assert app_b.count("msal_django_cachedaccount") == 0
        assert app_b.count("msal_django_signinsession") == 0
        assert signed_in_as(alice_page, app_b.url) == ""
        return logout_requests
    finally:
        alice.close()
        bob.close()


def test_front_channel_logout_signs_out_of_every_app_in_a_real_browser(browser, idp, app_a, app_b):
    started = time.monotonic()
    iframes = run_single_sign_out(browser, idp, app_a, app_b, "frontchannel")

    assert sorted(url.split("/auth/")[0] for url, _, _ in iframes) == sorted([app_a, app_b.url])
    for url, headers, status in iframes:
        assert status == 200
        query = parse_qs(urlsplit(url).query)
        assert query["iss"] == [idp.issuer]
        assert query["sid"][0]
        # Cross-site iframe: the SameSite=Lax session cookie was not sent; sid did the work.
        assert "sessionid" not in headers.get("cookie", "")
    assert idp.backchannel_logouts == []
    assert time.monotonic() - started < 30


def test_back_channel_logout_signs_out_of_every_app_in_a_real_browser(browser, idp, app_a, app_b):
    started = time.monotonic()
    requests_seen = run_single_sign_out(browser, idp, app_a, app_b, "backchannel")

    assert requests_seen == []  # nothing went through the browser
    sent = idp.backchannel_logouts
    assert sorted(b.client_id for b in sent) == [APP_A_CLIENT_ID, APP_B_CLIENT_ID]
    assert [b.status_code for b in sent] == [200, 200]
    assert time.monotonic() - started < 30
