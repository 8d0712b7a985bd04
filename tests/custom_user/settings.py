"""The test settings with ``tests.custom_user`` installed and its ``AUTH_USER_MODEL``
(``MSAL_DJANGO_TEST_USER_MODEL``: ``custom_user.Person`` by default, or
``custom_user.Member``)."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.custom_user"]
AUTH_USER_MODEL = os.environ.get("MSAL_DJANGO_TEST_USER_MODEL", "custom_user.Person")
