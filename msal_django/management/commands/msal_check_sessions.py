from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from msal_django.tokens.session_check import check_sessions

MAX_BATCH_SIZE = 100_000


class Command(BaseCommand):
    help = (
        "Ask the identity provider whether each signed-in account still stands (a "
        "refresh-token redemption, as SessionCheckMiddleware does): accounts it refuses are "
        "removed and their sessions end. Accounts checked within SESSION_CHECK_INTERVAL are "
        "skipped. For cron or a scheduled job."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count, ask nothing")
        parser.add_argument("--batch-size", default="500", help="accounts per batch (500)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            batch_size = int(options["batch_size"])
        except ValueError:
            batch_size = 0
        if not 0 < batch_size <= MAX_BATCH_SIZE:
            raise CommandError(f"--batch-size must be a whole number from 1 to {MAX_BATCH_SIZE}.")
        counts = check_sessions(dry_run=options["dry_run"], batch_size=batch_size)
        if options["dry_run"]:
            self.stdout.write(f"{counts.due} signed-in account(s) would be checked; nothing asked.")
            return
        self.stdout.write(
            f"Checked {counts.due} account(s): {counts.valid} still valid, "
            f"{counts.removed} refused and removed (their sessions ended), "
            f"{counts.unreachable} not answered (kept; asked again next time), "
            f"{counts.skipped} checked recently, {counts.gone} without tokens."
        )
        if counts.unreachable:
            self.stderr.write("The provider or the token store did not answer for some accounts.")
