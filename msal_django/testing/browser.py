"""A stand-in for the browser in tests: walks the provider's sign-in and signed-out
pages over HTTP, as a person would, and reports where the browser would go next."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlsplit, urlunsplit

import requests
from requests import Session

from .records import SignInError, SignOutResult
from .web import add_query


def sign_in(browser: Session, auth_uri: str, username: str, *, known: bool, consent: bool) -> str:
    """The URL the browser is sent back to after ``username`` signs in at ``auth_uri``
    (picking their account if ``known``, else typing the name), unfollowed."""
    response = browser.get(auth_uri, allow_redirects=False, timeout=30)
    if response.is_redirect:
        return str(response.headers["Location"])
    if response.status_code != 200:
        raise SignInError(_error_text(response))
    if 'id="form-post"' in response.text:
        return _form_post_as_url(response.text)
    request_id = re.search(r'name="request_id" value="([^"]*)"', response.text)
    if request_id is None:
        raise SignInError("The authorize endpoint did not show the sign-in page.")
    data = {
        "request_id": unescape(request_id.group(1)),
        "user": username if known else "",
        "new_username": "" if known else username,
    }
    if consent:
        data["consent"] = "on"
    action = urlunsplit(urlsplit(auth_uri)._replace(query="", fragment=""))
    response = browser.post(action, data=data, allow_redirects=False, timeout=30)
    if response.is_redirect:
        return str(response.headers["Location"])
    if response.status_code == 200 and 'id="form-post"' in response.text:
        return _form_post_as_url(response.text)
    raise SignInError(_error_text(response))


def sign_out(browser: Session, logout_url: str) -> SignOutResult:
    """What the signed-out page at ``logout_url`` holds (its iframes are not loaded)."""
    response = browser.get(logout_url, allow_redirects=False, timeout=30)
    if response.status_code != 200:
        raise SignInError(_error_text(response))
    iframes = re.findall(r'<iframe class="frontchannel-logout" src="([^"]*)"', response.text)
    redirect = re.search(r'<a id="continue" class="[^"]*" href="([^"]*)"', response.text)
    return SignOutResult(
        redirect_url=unescape(redirect.group(1)) if redirect else None,
        frontchannel_logout_urls=[unescape(url) for url in iframes],
    )


def _error_text(response: requests.Response) -> str:
    match = re.search(r'<code id="error">(.*?)</code>', response.text, re.DOTALL)
    detail = unescape(match.group(1)) if match else response.text[:500]
    return f"The identity provider answered {response.status_code}: {detail}"


def _form_post_as_url(page: str) -> str:
    """The form_post page's answer as the query of its action URL."""
    action = re.search(r'<form method="post" action="([^"]*)" id="form-post">', page)
    if action is None:
        raise SignInError("Unreadable form_post page.")
    fields = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    return add_query(unescape(action.group(1)), {unescape(k): unescape(v) for k, v in fields})
