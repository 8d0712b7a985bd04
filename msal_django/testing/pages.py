"""The provider's HTML pages: sign-in, signed-out, errors and the form_post response.

Every value is escaped here; callers pass plain strings. One layout lives in
``templates/page.html`` (inline CSS, no external assets).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from html import escape
from importlib import resources
from string import Template

TITLE_SUFFIX = "msal-django local identity provider"


@dataclass(frozen=True)
class Account:
    """One account button on the sign-in page."""

    username: str
    name: str
    preferred_username: str


def _e(value: str) -> str:
    return escape(value, quote=True)


def _js_string(value: str) -> str:
    """A JavaScript string literal that is safe inside a <script> element."""
    literal = json.dumps(value)
    return literal.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@cache
def _layout() -> Template:
    source = resources.files(__package__).joinpath("templates/page.html").read_text("utf-8")
    return Template(source)


def _page(title: str, body: str, *, head: str = "", script: str = "") -> str:
    return _layout().substitute(
        title=_e(f"{title} — {TITLE_SUFFIX}"), body=body, head=head, script=script
    )


def _account_button(account: Account, label: str | None = None, *, css: str = "") -> str:
    name = _e(label or account.name)
    return (
        f'<button type="submit" class="account {css}" name="user" value="{_e(account.username)}"'
        f' data-username="{_e(account.username)}">'
        f'<span class="name">{name}</span>'
        f'<span class="upn">{_e(account.preferred_username)}</span></button>'
    )


def sign_in_page(
    *,
    action: str,
    request_id: str,
    client_id: str,
    scopes: Sequence[str],
    accounts: Iterable[Account],
    current: Account | None,
    login_hint: str = "",
    message: str = "",
) -> str:
    items = []
    if current is not None:
        button = _account_button(current, f"Continue as {current.name}", css="continue")
        items.append(f"<li>{button}</li>")
    items += [
        f"<li>{_account_button(account)}</li>"
        for account in accounts
        if current is None or account.username != current.username
    ]
    accounts_html = f'<ul class="accounts">{"".join(items)}</ul>' if items else ""
    error_html = f'<p class="error" role="alert">{_e(message)}</p>' if message else ""
    scope_text = " ".join(scopes) or "(none)"
    body = f"""
<h1>Sign in</h1>
<p class="app">to <strong>{_e(client_id)}</strong></p>
{error_html}
<form method="post" action="{_e(action)}" id="sign-in">
  <input type="hidden" name="request_id" value="{_e(request_id)}">
  <button type="submit" class="default-submit" name="user" value="" tabindex="-1"
          aria-hidden="true">Sign in</button>
  {accounts_html}
  <fieldset>
    <legend>{"Use another account" if items else "Choose a user name"}</legend>
    <label for="new_username">User name (created if unknown)</label>
    <input type="text" id="new_username" name="new_username" value="{_e(login_hint)}"
           autocomplete="off" spellcheck="false" maxlength="64">
    <label for="new_name">Display name (optional)</label>
    <input type="text" id="new_name" name="new_name" autocomplete="off" maxlength="128">
  </fieldset>
  <details class="authorization">
    <summary>Roles and groups in the ID token (optional)</summary>
    <label for="roles">App roles (space separated; replace the user's)</label>
    <input type="text" id="roles" name="roles" autocomplete="off" spellcheck="false">
    <label for="groups">Group ids (space separated; replace the user's)</label>
    <input type="text" id="groups" name="groups" autocomplete="off" spellcheck="false">
    <label class="consent"><input type="checkbox" id="overage" name="overage" value="on">
      <span>Group overage: groups only from Graph</span></label>
  </details>
  <label class="consent"><input type="checkbox" name="consent" value="on" checked>
    <span>Consent to: <span class="scopes">{_e(scope_text)}</span></span></label>
  <div class="actions">
    <button type="submit" class="btn" name="action" value="cancel" formnovalidate>Cancel</button>
    <button type="submit" class="btn primary" name="user" value="">Sign in</button>
  </div>
</form>"""
    return _page("Sign in", body)


def signed_out_page(*, frontchannel_logout_urls: Sequence[str], redirect_url: str | None) -> str:
    iframes = "\n".join(
        f'<iframe class="frontchannel-logout" src="{_e(url)}" title="front-channel logout"'
        ' width="0" height="0" tabindex="-1"></iframe>'
        for url in frontchannel_logout_urls
    )
    head = script = continue_html = ""
    if redirect_url:
        # Wait a moment so that the front-channel iframes get to load.
        head = f'<meta http-equiv="refresh" content="1;url={_e(redirect_url)}">'
        script = (
            "<script>setTimeout(function () { window.location.replace("
            f"{_js_string(redirect_url)}); }}, 1000);</script>"
        )
        continue_html = (
            f'<p><a id="continue" class="btn primary" href="{_e(redirect_url)}">Continue</a></p>'
        )
    body = f"""
<h1>You have signed out</h1>
<p>You signed out of your account. It's a good idea to close all browser windows.</p>
{continue_html}
{iframes}"""
    return _page("Signed out", body, head=head, script=script)


def error_page(title: str, error: str, description: str) -> str:
    body = f"""
<h1>{_e(title)}</h1>
<p class="error">Sorry, but we're having trouble signing you in.</p>
<p><code id="error">{_e(error)}: {_e(description)}</code></p>"""
    return _page(title, body)


def form_post_page(redirect_uri: str, params: Mapping[str, str]) -> str:
    """``response_mode=form_post``: the browser POSTs the answer to the redirect URI."""
    fields = "\n".join(
        f'<input type="hidden" name="{_e(key)}" value="{_e(value)}">'
        for key, value in params.items()
    )
    body = f"""
<h1>Signing you in…</h1>
<form method="post" action="{_e(redirect_uri)}" id="form-post">
{fields}
<noscript><button type="submit" class="btn primary">Continue</button></noscript>
</form>"""
    script = "<script>document.getElementById('form-post').submit();</script>"
    return _page("Signing in", body, script=script)


def index_page(*, authority: str, issuer: str, discovery_url: str) -> str:
    body = f"""
<h1>Local identity provider</h1>
<p>Authority: <code>{_e(authority)}</code></p>
<p>Issuer: <code>{_e(issuer)}</code></p>
<p><a href="{_e(discovery_url)}">OpenID configuration</a></p>
<p><a href="/users/">Users</a>: disable one, revoke their sessions</p>"""
    return _page("Local identity provider", body)


def users_page(users: Sequence[tuple[str, str, bool]]) -> str:
    """The provider's users, as an admin sees them at Entra ID: (user name, display name,
    disabled), each with what an admin can do to the account."""
    rows = []
    for username, name, disabled in users:
        actions = [("enable", "Enable") if disabled else ("disable", "Disable")]
        actions += [("revoke-sessions", "Revoke sessions"), ("reset-password", "Reset password")]
        buttons = "".join(
            f'<button type="submit" name="action" value="{action}">{label}</button> '
            for action, label in actions
        )
        status = "disabled" if disabled else "enabled"
        rows.append(
            f'<li><form method="post" action="/users/{_e(username)}/">'
            f'<span class="name">{_e(name)}</span> <span class="upn">{_e(username)} '
            f"({status})</span><br>{buttons}</form></li>"
        )
    body = f"""
<h1>Users</h1>
<p>What an administrator does to an account at Entra ID: a disabled user's refresh
tokens and sign-ins are refused, revoked sessions and a reset password end every refresh
token issued before.</p>
<ul class="accounts">{"".join(rows)}</ul>"""
    return _page("Users", body)
