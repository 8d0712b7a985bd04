from __future__ import annotations

import warnings
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class MsalDjangoConfig(AppConfig):
    name = "msal_django"
    verbose_name = _("MSAL sign-in and token caches")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_out
        from django.core.signals import setting_changed
        from django.db.models.signals import pre_delete

        from . import client, redact, sessions
        from .checks import check_settings
        from .logout import on_user_deleted, on_user_logged_out
        from .stores import redis_client

        # The callback takes the code in the query (response_mode=query): a form_post
        # would arrive cross-site without Django's SameSite=Lax session cookie, so the
        # pending sign-in could not be found. PKCE and single-use codes cover the risk.
        warnings.filterwarnings(
            "ignore", message="response_mode='form_post' is recommended", category=UserWarning
        )
        redact.install()
        checks.register(check_settings)
        user_logged_out.connect(on_user_logged_out, dispatch_uid="msal_django.logout")
        user_logged_out.connect(sessions.on_user_logged_out, dispatch_uid="msal_django.sessions")
        # A deleted user's tokens go too, from every store (Redis keys are not cascaded).
        pre_delete.connect(
            on_user_deleted, sender=get_user_model(), dispatch_uid="msal_django.user_deleted"
        )

        def on_setting_changed(setting: str, **kwargs: Any) -> None:
            if setting in ("MSAL_DJANGO", "SECRET_KEY", "SECRET_KEY_FALLBACKS"):
                client.reset()
            if setting == "MSAL_DJANGO":
                redis_client.reset()  # REDIS_CLIENT's client is built again on next use

        setting_changed.connect(on_setting_changed, weak=False, dispatch_uid="msal_django.conf")
