"""HTTP pieces every endpoint shares: uncached responses, the sign-in session cookie,
query strings, and a client session that trusts the provider's CA."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from requests import Session
from werkzeug.wrappers import Request, Response

# The provider's sign-in session; its value is the session's ``sid``.
SESSION_COOKIE = "idp_session"


def html(body: str, status: int = 200) -> Response:
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


def json_response(body: Mapping[str, Any], status: int = 200) -> Response:
    response = Response(json.dumps(body), status=status, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def redirect(location: str) -> Response:
    response = Response(status=302, headers={"Location": location})
    response.headers["Cache-Control"] = "no-store"
    return response


def add_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return urlunsplit(parts._replace(query=query))


def session_id(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


def set_session_cookie(response: Response, sid: str) -> None:
    response.set_cookie(SESSION_COOKIE, sid, secure=True, httponly=True, samesite="None", path="/")


def delete_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="None")


def https_session(ca_file: str) -> Session:
    """A ``requests`` session that trusts ``ca_file`` alone."""
    session = Session()
    # REQUESTS_CA_BUNDLE and friends would otherwise override verify.
    session.trust_env = False
    session.verify = ca_file
    return session
