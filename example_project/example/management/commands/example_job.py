"""A background job that calls the API for a user: what a Celery task or cron job does.

    .venv/bin/python example_project/manage.py example_job alice@example.com

Works while the example runs (``bash example_project/run.sh``), for a user who has
signed in there once; after they sign out it reports that they must sign in again.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

import msal_django
from example.views import call_api


class Command(BaseCommand):
    help = "Call the API on behalf of a user, from a job with no request."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist:
            raise CommandError(
                f"No user {username!r}: sign in as them on the site first."
            ) from None
        try:
            token = msal_django.get_token_for_user(user, ["User.Read"])
        except msal_django.InteractionRequired as exc:
            raise CommandError(
                f"{username} has no usable tokens ({exc.error}): they must sign in again."
            ) from exc
        status, me = call_api(token)
        self.stdout.write(f"The API answered {status} for {username}: {me}")
