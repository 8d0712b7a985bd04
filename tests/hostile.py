"""What every hostile-input case checks: each response under 500 and kept, every log
record captured, and none of them showing a secret (the client secret, any code or token
the provider issued or signed, a PKCE verifier) or a forged log line; and ``everyone()``,
the rows a refused request must leave as they were."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client

from msal_django.constants import FLOWS_KEY
from msal_django.models import CachedAccount, SignInSession


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(
            f"{r.getMessage()} {r.exc_text or ''} {_traceback(r)}" for r in self.records
        )


def _traceback(record: logging.LogRecord) -> str:
    if not record.exc_info:
        return ""
    return logging.Formatter().formatException(record.exc_info)


class Watch:
    """Every response and every log record of a case, and the secrets they must not show."""

    def __init__(self, idp, capture: Capture, secrets: list[str]) -> None:
        self.idp, self.capture = idp, capture
        self.responses: list[str] = []
        self.extra_secrets: list[str] = list(secrets)

    def response(self, response, *, unavailable: bool = False):
        """Kept for the secrets check; never a 500 (``unavailable``: a 503 is the answer)."""
        allowed = 503 if unavailable else 499
        assert response.status_code <= allowed, response.content[:2000]
        assert response.status_code != 500, response.content[:2000]
        headers = "\n".join(f"{k}: {v}" for k, v in response.items())
        self.responses.append(f"{headers}\n{response.content.decode('utf-8', 'replace')}")
        return response

    def remember_verifiers(self, client: Client) -> None:
        for pending in (client.session.get(FLOWS_KEY) or {}).values():
            self.extra_secrets.append(pending["flow"]["code_verifier"])

    def secrets(self) -> list[str]:
        return [s for s in [*self.extra_secrets, *self.idp.issued_secrets()] if s]

    def assert_no_secret_in(self, text: str) -> None:
        shown = [s[:12] + "..." for s in self.secrets() if s in text]
        assert shown == []

    def assert_clean(self) -> None:
        self.assert_no_secret_in(self.capture.text())
        self.assert_no_secret_in("\n".join(self.responses))
        ours = [r for r in self.capture.records if r.name.startswith("msal_django")]
        forged = [r.getMessage() for r in ours if not r.getMessage().isprintable()]
        assert forged == [], "a log line carries raw control characters"
        assert "forged log line" not in "\n".join(
            line for r in ours for line in r.getMessage().splitlines()[1:]
        )


def everyone() -> tuple:
    """Every account, session and sign-in a refused request must leave as it was."""
    return (
        sorted(CachedAccount.objects.values_list("home_account_id", "version", "updated_at")),
        sorted(SignInSession.objects.values_list("session_key", "sid")),
        sorted(Session.objects.values_list("session_key", "session_data")),
        sorted(get_user_model().objects.values_list("pk", "username", "email", "last_login")),
    )


def assert_still_signed_in(*clients: Client) -> None:
    for client in clients:
        assert client.get("/token/").status_code == 200
