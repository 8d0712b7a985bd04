"""msal_purge and msal_django.signout.purge: selectors, dry runs, bad arguments, signals."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from msal_django.models import CachedAccount
from msal_django.signout.purge import parse_duration, purge, select_accounts
from msal_django.stores import AccountInfo, get_store

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("idp")]

STATE = '{"AccessToken": {}, "RefreshToken": {"rt": {"secret": "x"}}, "IdToken": {}}'


@pytest.fixture(autouse=True)
def backend(store_backend):
    """Every purge test runs against the database store and the Redis store."""
    return store_backend


def tokens_left(home_account_id: str) -> bool:
    return get_store().load(home_account_id).exists


def make(username="u", tenant="t1", age_days=0, expired=False):
    user = get_user_model().objects.get_or_create(username=username)[0]
    home = f"{uuid.uuid4()}.{tenant}"
    get_store().replace(home, STATE, user, AccountInfo(username=username, tenant_id=tenant))
    past = timezone.now() - timedelta(days=age_days)
    fields = {"updated_at": past}
    if expired:
        fields["refresh_token_expires_at"] = timezone.now() - timedelta(seconds=1)
    CachedAccount.objects.filter(home_account_id=home).update(**fields)
    return home


def run(*args):
    out = StringIO()
    call_command("msal_purge", *args, stdout=out)
    return out.getvalue()


def remaining():
    return set(CachedAccount.objects.values_list("home_account_id", flat=True))


def test_user_selectors_by_username_and_by_id(removed):
    a, b, c = make("ann"), make("ann"), make("ben")
    ann = get_user_model().objects.get(username="ann")
    assert "Removed 2 cached account(s)." in run("--user", "ann")
    assert remaining() == {c}
    assert not tokens_left(a)
    assert not tokens_left(b)
    assert tokens_left(c)
    assert {(r["home_account_id"], r["reason"], r["user"]) for r in removed} == {
        (a, "purge", ann),
        (b, "purge", ann),
    }
    run("--user-id", str(get_user_model().objects.get(username="ben").pk))
    assert remaining() == set()


def test_account_and_tenant_selectors():
    a, b, c = make(tenant="t1"), make(tenant="t2"), make(tenant="t2")
    run("--account", a, "--account", b)
    assert remaining() == {c}
    d = make(tenant="t3")
    run("--tenant", "t2")
    assert remaining() == {d}


def test_inactive_and_expired_selectors_and_their_combination():
    fresh, old, old_expired, fresh_expired = (
        make(age_days=1),
        make(age_days=40),
        make(age_days=40, expired=True),
        make(age_days=0, expired=True),
    )
    run("--inactive-for", "30d", "--expired")
    assert remaining() == {fresh, old, fresh_expired}
    run("--expired")
    assert remaining() == {fresh, old}
    run("--inactive-for", "1d12h")
    assert remaining() == {fresh}
    assert old_expired not in remaining()


def test_user_combined_with_tenant():
    a, b, c = make("ann", "t1"), make("ann", "t2"), make("ben", "t1")
    run("--user", "ann", "--tenant", "t1")
    assert remaining() == {b, c}
    assert a not in remaining()


def test_dry_run_lists_and_changes_nothing(removed):
    a, b = make("ann"), make("ben")
    out = run("--all", "--dry-run")
    assert a in out
    assert b in out
    assert "Would remove 2 cached account(s)." in out
    assert remaining() == {a, b}
    assert tokens_left(a)
    assert tokens_left(b)
    assert removed == []


def test_all_asks_for_confirmation_and_aborts_without_a_yes(monkeypatch):
    a = make()
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="Aborted"):
        run("--all")
    assert remaining() == {a}
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    run("--all")
    assert remaining() == set()


def test_all_without_input_needs_no_answer():
    make()
    make()
    assert "Removed 2" in run("--all", "--no-input")
    assert remaining() == set()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Nothing selected"),
        (("--user", "nobody"), "No user with the username 'nobody'"),
        (("--inactive-for", "30 days"), "not a duration"),
        (("--inactive-for", "d30"), "not a duration"),
        (("--all", "--tenant", "t1"), "give it alone"),
    ],
)
def test_bad_arguments_are_clear_errors_and_remove_nothing(args, message):
    a = make()
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert remaining() == {a}


def test_bad_arguments_exit_non_zero_from_the_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "django", "msal_purge", "--inactive-for", "soon"],
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    assert result.returncode != 0
    assert "not a duration" in result.stderr


def test_purge_works_in_batches_with_bounded_batches(removed):
    homes = {make(f"user{n}") for n in range(25)}
    seen = []
    result = purge(select_accounts(everything=True), batch_size=10, progress=seen.append)
    assert (result.matched, result.removed) == (25, 25)
    assert seen == [10, 20, 25]
    assert {r["home_account_id"] for r in removed} == homes
    assert len(removed) == 25  # exactly once each
    assert not any(tokens_left(home) for home in homes)


def test_no_selector_is_refused_by_the_function():
    with pytest.raises(ValueError, match="No selector"):
        select_accounts()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 30 * 86400), ("12h", 43200), ("1d12h", 129600), ("90m", 5400), ("2w", 1209600)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)
