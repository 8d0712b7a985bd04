from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from msal_django.signout.purge import parse_duration, purge, select_accounts

MAX_BATCH_SIZE = 100_000


class Command(BaseCommand):
    help = (
        "Remove cached MSAL accounts and all their tokens. Selectors combine: "
        "--user alice --inactive-for 30d removes alice's accounts unused for 30 days."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="every cached account")
        parser.add_argument("--user", action="append", default=[], help="username")
        parser.add_argument("--user-id", action="append", default=[], help="user id (primary key)")
        parser.add_argument("--account", action="append", default=[], help="home_account_id")
        parser.add_argument("--tenant", action="append", default=[], help="tenant id (tid)")
        parser.add_argument("--inactive-for", help="not written for this long: 30d, 12h, 1d12h")
        parser.add_argument("--expired", action="store_true", help="refresh token expired")
        parser.add_argument("--dry-run", action="store_true", help="list, change nothing")
        parser.add_argument("--no-input", "--noinput", action="store_false", dest="interactive")
        parser.add_argument("--batch-size", default="1000", help="accounts per batch (1000)")

    def handle(self, *args: Any, **options: Any) -> None:
        names = ("user", "user_id", "account", "tenant", "inactive_for", "expired")
        selectors = [options[k] for k in names]
        if options["all"] and any(selectors):
            raise CommandError("--all removes everything; give it alone, or use selectors.")
        if not options["all"] and not any(selectors):
            raise CommandError(
                "Nothing selected: give --all, --user, --user-id, --account, --tenant, "
                "--inactive-for or --expired."
            )
        batch_size = _batch_size(options["batch_size"])
        for name in ("account", "tenant"):
            if any(not value or "\x00" in value for value in options[name]):
                raise CommandError(f"--{name} must be a non-empty string; nothing removed.")
        try:
            inactive = parse_duration(options["inactive_for"]) if options["inactive_for"] else None
        except ValueError as exc:
            raise CommandError(f"--inactive-for: {exc} Nothing removed.") from exc
        accounts = select_accounts(
            everything=options["all"],
            user_ids=[
                *(self._by_username(u) for u in options["user"]),
                *(self._by_id(i) for i in options["user_id"]),
            ],
            home_account_ids=options["account"],
            tenant_ids=options["tenant"],
            inactive_for=inactive,
            expired=options["expired"],
        )
        if options["dry_run"]:
            for home, username in (
                accounts.order_by("pk").values_list("home_account_id", "username").iterator()
            ):
                self.stdout.write(f"{home}  {username}")
            result = purge(accounts, dry_run=True, batch_size=batch_size)
            self.stdout.write(f"Would remove {result.matched} cached account(s).")
            return
        if options["all"] and options["interactive"]:
            total = accounts.count()
            answer = self._ask(f"Remove all {total} cached accounts and their tokens? [y/N] ")
            if answer not in ("y", "yes"):
                raise CommandError("Aborted; nothing removed.")
        result = purge(accounts, batch_size=batch_size, progress=self._progress())
        if self.stdout.isatty():
            self.stdout.write("")
        self.stdout.write(f"Removed {result.removed} cached account(s).")

    def _by_username(self, value: str) -> Any:
        user_model = get_user_model()
        field = user_model._meta.get_field(user_model.USERNAME_FIELD)
        pk = None
        if "\x00" not in value and len(value) <= (getattr(field, "max_length", None) or 1000):
            lookup = {user_model.USERNAME_FIELD: value}
            pk = user_model._default_manager.filter(**lookup).values_list("pk", flat=True).first()
        if pk is None:
            raise CommandError(
                f"No user with the username {value!r} (for a user id, use --user-id); "
                "nothing removed."
            )
        return pk

    def _by_id(self, value: str) -> Any:
        user_model = get_user_model()
        try:
            pk = user_model._meta.pk.clean(value, None)
        except ValidationError:
            pk = None
        if pk is None or not user_model._default_manager.filter(pk=pk).exists():
            raise CommandError(f"No user with the id {value!r}; nothing removed.")
        return pk

    def _ask(self, question: str) -> str:
        try:
            return input(question).strip().lower()
        except EOFError:
            return ""

    def _progress(self) -> Any:
        if not self.stdout.isatty():
            return None

        def show(done: int) -> None:
            self.stdout.write(f"\rRemoved {done} ...", ending="")
            self.stdout.flush()

        return show


def _batch_size(value: str) -> int:
    try:
        size = int(value)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_BATCH_SIZE:
        raise CommandError(
            f"--batch-size must be a whole number from 1 to {MAX_BATCH_SIZE}, not {value!r}; "
            "nothing removed."
        )
    return size
