"""No token, code, secret or cookie value appears in any log record."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from msal_django.models import CachedAccount
from msal_django.stores import get_store

from .conftest import CLIENT_SECRET

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("idp")]


def test_a_whole_journey_logs_no_secret(idp, caplog):
    caplog.set_level(logging.DEBUG)
    idp.access_token_lifetime = 60  # so get_token refreshes, logging that path too
    client = Client()
    start = client.get("/auth/login/")
    callback = urlsplit(idp.sign_in(start["Location"], "alice"))
    query = parse_qs(callback.query)
    assert client.get(callback.path, {k: v[0] for k, v in query.items()}).status_code == 302
    secrets = {CLIENT_SECRET, query["code"][0], client.cookies["sessionid"].value}
    state = json.loads(get_store().load(CachedAccount.objects.get().home_account_id).state)
    for kind in ("AccessToken", "RefreshToken", "IdToken"):
        secrets |= {entry["secret"] for entry in state[kind].values()}
    secrets.add(client.get("/token/").json()["access_token"])
    idp.revoke_refresh_tokens("alice")
    client.get("/token/", {"scopes": "Files.Read"})
    client.post("/auth/logout/")

    assert len(caplog.records) > 5  # MSAL's and ours were captured
    text = "\n".join(
        record.getMessage() + str(record.args) + str(record.exc_text) for record in caplog.records
    )
    leaked = [s[:12] for s in secrets if s and s in text]
    assert leaked == []


def test_an_error_report_shows_no_code_or_token(idp, monkeypatch, caplog):
    """What Django reports about a 500 in production (AdminEmailHandler, error trackers
    built the same way): the callback's locals, the URL and the query hide the code."""
    from django.db import DatabaseError
    from django.views.debug import ExceptionReporter

    def database_fails(*args, **kwargs):  # stands in for a database that fails right then
        raise DatabaseError("the database went away")

    monkeypatch.setattr("msal_django.signout.session_index.record_sign_in", database_fails)
    client = Client(raise_request_exception=False)
    start = client.get("/auth/login/")
    callback = urlsplit(idp.sign_in(start["Location"], "alice"))
    query = {k: v[0] for k, v in parse_qs(callback.query).items()}
    assert client.get(callback.path, query).status_code == 500
    record = next(r for r in caplog.records if r.name == "django.request" and r.exc_info)
    reporter = ExceptionReporter(record.request, *record.exc_info, is_email=True)
    report = reporter.get_traceback_html() + reporter.get_traceback_text()
    assert "the database went away" in report
    assert "response_params" in report  # the callback's frame is there, its values hidden
    secrets = [query["code"], *idp.issued_secrets()]
    assert len(secrets) >= 3
    assert [s[:10] for s in secrets if s in report] == []
